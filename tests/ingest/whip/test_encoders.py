"""The ingest encoders on their own: H.264 the packager can mux, AAC on a clock without holes."""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from ingest.rtmp.flv_tags import parse_audio_specific_config, parse_avc_decoder_config
from ingest.aac_encoder import MAX_FILL, RATE, AudioEncoder
from ingest.whip.video_encoder import VideoEncoder, output_size


def opus_like(index: int, samples: int = 960) -> av.AudioFrame:
    """A decoded WebRTC audio frame as aiortc hands it over: s16 stereo, 48 kHz."""
    pcm = (np.sin(np.arange(samples * 2) / 5) * 8000).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="stereo")
    frame.sample_rate = 48_000
    frame.pts = index * samples
    frame.time_base = fractions.Fraction(1, 48_000)
    return frame


def encode_audio(indexes: list[int], start: float = 2.0) -> tuple[AudioEncoder, list[int]]:
    encoder = AudioEncoder(bitrate=96_000)
    packets = []
    for i in indexes:
        packets += encoder.encode(opus_like(i), start + i * 0.02, arrival=0.0)
    return encoder, [p.dts_ms for p in packets]


def test_aac_config_and_continuous_timestamps():
    encoder, times = encode_audio(list(range(200)))
    config = parse_audio_specific_config(encoder.config.asc)
    assert (config.sample_rate, config.channels, config.object_type) == (48_000, 2, 2)
    assert times[0] == round((2.0 - 1024 / RATE) * 1000), "the priming frame starts a frame early"
    assert all(abs((b - a) - 1024 / 48) <= 1 for a, b in zip(times, times[1:]))
    assert len(times) == 200 * 960 // 1024 - 1, "every whole frame in, minus the one the encoder holds"


def test_lost_packets_are_filled_with_silence_so_the_clock_holds():
    encoder, times = encode_audio([i for i in range(200) if i not in (50, 51, 52)])
    _, reference = encode_audio(list(range(200)))
    assert encoder.filled == pytest.approx(0.06)
    assert times == reference


def test_duplicates_are_dropped_and_long_gaps_restart_the_count():
    encoder, times = encode_audio([0, 1, 2, 2, 3, *range(4, 50), *range(200, 260)])
    _, reference = encode_audio([*range(50), *range(200, 260)])
    assert times == reference, "the duplicate added nothing"
    assert encoder.filled == 0, "a 3 s hole is not filled"
    [cut] = [i for i, (a, b) in enumerate(zip(times, times[1:])) if b - a > MAX_FILL * 1000]
    assert times[cut + 1] == 2000 + 200 * 20, "the count restarted at the new time"


def test_video_is_h264_with_idr_every_interval_and_avcc_packets():
    encoder = VideoEncoder(320, 240, frame_rate=30, bitrate=500_000, preset="veryfast", keyframe_interval=1.0)
    record = parse_avc_decoder_config(encoder.config.avcc)  # the RTMP path's validation
    assert encoder.config.codec_string.startswith("avc1.64")
    assert record.avcc[3] <= 31, "a level for the nominal rate, not the 90 kHz time base"
    packets = []
    for i in range(95):
        image = np.full((240, 320, 3), i % 255, dtype=np.uint8)
        packets += encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24"), 3 + i / 30, 0.0)
    assert [i for i, p in enumerate(packets) if p.keyframe] == [0, 30, 60, 90]
    assert all(p.cts_ms == 0 for p in packets)
    assert [p.dts_ms for p in packets[:4]] == [3000, 3033, 3067, 3100]
    # AVCC: the access unit is a sequence of 4-byte length-prefixed NAL units.
    data, pos = packets[0].data, 0
    while pos < len(data):
        pos += 4 + int.from_bytes(data[pos : pos + 4], "big")
    assert pos == len(data)
    # And it decodes.
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = encoder.config.avcc
    frames = [f for p in packets for f in decoder.decode(av.Packet(p.data))]
    assert len(frames) >= 90 and (frames[0].width, frames[0].height) == (320, 240)


@pytest.mark.parametrize(
    ("source", "expected"),
    [((640, 480), (640, 480)), ((641, 361), (640, 360)), ((3840, 2160), (1920, 1080)), ((1080, 1920), (606, 1080))],
)
def test_output_size(source, expected):
    assert output_size(*source) == expected
