"""FLV tag bodies → packager types (FLV spec v10.1 annex E; ISO/IEC 14496-3 and 14496-15)."""

from __future__ import annotations

import pytest
import structlog
from structlog.testing import capture_logs

from ingest.rtmp.flv_tags import (
    FlvTagError,
    TagDemuxer,
    parse_audio_specific_config,
    parse_avc_decoder_config,
)
from packager.media import VideoConfig
from tests.ingest.conftest import AVCC, PPS, SPS, RecordingInput


def bits(*fields: tuple[int, int]) -> bytes:
    """Pack (value, width) fields MSB first, zero-padded to whole bytes."""
    value, width = 0, 0
    for field_value, field_width in fields:
        value, width = value << field_width | field_value, width + field_width
    pad = -width % 8
    return (value << pad).to_bytes((width + pad) // 8, "big")


@pytest.mark.parametrize(
    ("asc", "expected"),
    [
        (bytes.fromhex("1210"), (2, 44100, 2)),  # AAC-LC 44.1 kHz stereo
        (bytes.fromhex("1190"), (2, 48000, 2)),  # AAC-LC 48 kHz stereo
        (bytes.fromhex("1188"), (2, 48000, 1)),
        (bytes.fromhex("118856e500"), (2, 48000, 1)),  # ffmpeg's, with a sync extension after it
        (bits((5, 5), (6, 4), (2, 4)), (5, 24000, 2)),  # HE-AAC explicit
        (bits((31, 5), (10, 6), (3, 4), (2, 4)), (42, 48000, 2)),  # escaped object type 42 (USAC)
        (bits((2, 5), (15, 4), (44100, 24), (1, 4)), (2, 44100, 1)),  # explicit 24-bit rate
        (bits((31, 5), (0, 6), (15, 4), (22050, 24), (7, 4)), (32, 22050, 8)),  # both escapes, 7.1
    ],
)
def test_audio_specific_config(asc: bytes, expected: tuple[int, int, int]) -> None:
    config = parse_audio_specific_config(asc)
    assert (config.object_type, config.sample_rate, config.channels) == expected
    assert config.asc == asc
    assert config.codec_string == f"mp4a.40.{expected[0]}"


@pytest.mark.parametrize(
    "asc",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x12", id="truncated"),
        pytest.param(bits((31, 5), (1, 3)), id="truncated escape"),
        pytest.param(bits((2, 5), (15, 4), (44100, 10)), id="truncated explicit rate"),
        pytest.param(bits((2, 5), (13, 4), (2, 4)), id="reserved frequency index"),
        pytest.param(bits((2, 5), (15, 4), (0, 24), (2, 4)), id="zero explicit rate"),
        pytest.param(bits((0, 5), (4, 4), (2, 4)), id="null object type"),
        pytest.param(bits((2, 5), (4, 4), (0, 4)), id="channels from a PCE"),
        pytest.param(bits((2, 5), (4, 4), (9, 4)), id="reserved channel configuration"),
    ],
)
def test_malformed_audio_specific_config(asc: bytes) -> None:
    with pytest.raises(FlvTagError):
        parse_audio_specific_config(asc)


def test_avc_decoder_config() -> None:
    config = parse_avc_decoder_config(AVCC)
    assert config == VideoConfig(avcc=AVCC)
    assert config.codec_string == "avc1.64001e"


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(b"", id="empty"),
        pytest.param(AVCC[:6], id="header only"),
        pytest.param(b"\x02" + AVCC[1:], id="version 2"),
        pytest.param(AVCC[: 8 + len(SPS) - 1], id="truncated sps"),
        pytest.param(AVCC[: 8 + len(SPS)], id="no pps count"),
        pytest.param(AVCC[:-1], id="truncated pps"),
        pytest.param(AVCC[:5] + b"\xe0" + b"\x01" + len(PPS).to_bytes(2, "big") + PPS, id="no sps"),
        pytest.param(AVCC[: 8 + len(SPS)] + b"\x00", id="no pps"),
    ],
)
def test_malformed_avc_decoder_config(record: bytes) -> None:
    with pytest.raises(FlvTagError):
        parse_avc_decoder_config(record)


@pytest.fixture
def sink() -> RecordingInput:
    return RecordingInput("live", "key")


@pytest.fixture
def demuxer(sink: RecordingInput) -> TagDemuxer:
    return TagDemuxer(sink, structlog.get_logger("test"), "test")


def test_avc_and_aac_tags(sink: RecordingInput, demuxer: TagDemuxer) -> None:
    demuxer.video(b"\x17\x00\x00\x00\x00" + AVCC, 0)
    demuxer.audio(b"\xaf\x00" + bytes.fromhex("1190"), 0)
    demuxer.video(b"\x17\x01\x00\x00\x43" + b"idr", 0)
    demuxer.video(b"\x27\x01\xff\xff\xdf" + b"p", 67)  # composition time -33
    demuxer.audio(b"\xaf\x01" + b"aac", 21)
    demuxer.video(b"\x17\x02\x00\x00\x00", 100)  # end of sequence: nothing to deliver
    assert sink.events == [
        ("video_config", AVCC),
        ("audio_config", bytes.fromhex("1190")),
        ("video", 0, 67, True, b"idr"),
        ("video", 67, -33, False, b"p"),
        ("audio", 21, 0, True, b"aac"),
    ]
    assert all(p.received > 0 for p in sink.packets)


@pytest.mark.parametrize(
    ("method", "body", "event"),
    [
        ("video", b"\x57\x00", "rtmp.video_info_frame_ignored"),
        ("video", b"\x12" + bytes(20), "rtmp.unsupported_video_codec"),  # Sorenson H.263
        ("video", b"\x90hvc1" + bytes(20), "rtmp.enhanced_rtmp_video_ignored"),
        ("audio", b"\xb6" + bytes(20), "rtmp.unsupported_audio_codec"),  # Speex
    ],
)
def test_unsupported_tags_are_ignored_with_one_warning(
    sink: RecordingInput, demuxer: TagDemuxer, method: str, body: bytes, event: str
) -> None:
    with capture_logs() as logs:
        for timestamp in range(5):
            getattr(demuxer, method)(body, timestamp)
    assert sink.events == []
    assert [(entry["event"], entry["log_level"]) for entry in logs] == [(event, "warning")]


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("video", b"\x17\x01\x00"),  # shorter than the AVC header
        ("video", b"\x17\x07\x00\x00\x00"),  # unknown AVCPacketType
        ("video", b"\x17\x00\x00\x00\x00\x02"),  # broken sequence header
        ("audio", b"\xaf"),
        ("audio", b"\xaf\x05"),
        ("audio", b"\xaf\x00\x12"),
    ],
)
def test_malformed_tags_raise(demuxer: TagDemuxer, method: str, body: bytes) -> None:
    with pytest.raises(FlvTagError):
        getattr(demuxer, method)(body, 0)


def test_empty_bodies_are_ignored(sink: RecordingInput, demuxer: TagDemuxer) -> None:
    demuxer.video(b"", 0)
    demuxer.audio(b"", 0)
    demuxer.video(b"\x27\x01\x00\x00\x00", 0)
    demuxer.audio(b"\xaf\x01", 0)
    assert sink.events == []
