"""FLV audio and video tag bodies (the payload of RTMP audio/video messages) → packager types.

Hand-written because no maintained Python library parses RTMP/AMF0 and its FLV payloads.
Specs: Adobe FLV and F4V file format specification v10.1, annex E.4.2 (AUDIODATA, AACAUDIODATA)
and E.4.3 (VIDEODATA, AVCVIDEOPACKET); ISO/IEC 14496-3 1.6.2.1 (AudioSpecificConfig);
ISO/IEC 14496-15 5.2.4.1 (AVCDecoderConfigurationRecord).

Only H.264 and AAC reach the packager. Other audio (MP3, G.711, …) is transcoded to AAC
(:mod:`ingest.rtmp.audio_transcode`); other video is dropped with one warning per kind per
session. Codec configuration that cannot be parsed raises :class:`FlvTagError`, because a
stream whose decoder setup is broken cannot be packaged and the publisher is better told by a
disconnect than by silence.
"""

from __future__ import annotations

import time
from typing import Final

import structlog

from ingest.metrics import PublishMeter, dropped
from ingest.rtmp.audio_transcode import AudioTranscoder, transcodable
from packager.media import AudioConfig, LiveInput, MediaPacket, VideoConfig

_EX_HEADER: Final = 0x80
_KEYFRAME: Final = 1
_INFO_FRAME: Final = 5
_CODEC_AVC: Final = 7
_SOUND_AAC: Final = 10
_SEQUENCE_HEADER: Final = 0
_NALU_OR_RAW: Final = 1
_END_OF_SEQUENCE: Final = 2

_AAC_SAMPLE_RATES: Final = (
    96000,
    88200,
    64000,
    48000,
    44100,
    32000,
    24000,
    22050,
    16000,
    12000,
    11025,
    8000,
    7350,
)
_EXPLICIT_RATE_INDEX: Final = 15
_ESCAPE_OBJECT_TYPE: Final = 31
# channelConfiguration → channel count; 0 (program config element) and reserved values are refused.
_AAC_CHANNELS: Final = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}


class FlvTagError(ValueError):
    """An H.264/AAC tag the packager could not use: truncated, or a malformed codec configuration."""


def parse_avc_decoder_config(record: bytes) -> VideoConfig:
    """Validate an AVCDecoderConfigurationRecord far enough that the packager can rely on it.

    The packager copies it verbatim into ``avcC`` and derives the codec string from bytes 1..3,
    so it must be version 1 and hold at least one complete SPS and PPS.
    """
    if len(record) < 7 or record[0] != 1:
        raise FlvTagError("AVC sequence header is not a version 1 AVCDecoderConfigurationRecord")
    sps_count = record[5] & 0x1F
    pos = _skip_parameter_sets(record, 6, sps_count)
    if pos >= len(record):
        raise FlvTagError("AVCDecoderConfigurationRecord ends before its PPS count")
    pps_count = record[pos]
    _skip_parameter_sets(record, pos + 1, pps_count)
    if not sps_count or not pps_count:
        raise FlvTagError("AVCDecoderConfigurationRecord has no SPS or no PPS")
    return VideoConfig(avcc=bytes(record))


def _skip_parameter_sets(record: bytes, pos: int, count: int) -> int:
    for _ in range(count):
        if pos + 2 > len(record):
            raise FlvTagError("AVCDecoderConfigurationRecord truncated in a parameter set length")
        pos += 2 + int.from_bytes(record[pos : pos + 2], "big")
        if pos > len(record):
            raise FlvTagError("AVCDecoderConfigurationRecord truncated in a parameter set")
    return pos


def parse_audio_specific_config(asc: bytes) -> AudioConfig:
    """Object type (with the 31 escape), sampling rate (with the explicit 24-bit form), channels."""
    bits = _BitReader(asc)
    object_type = bits.read(5)
    if object_type == _ESCAPE_OBJECT_TYPE:
        object_type = 32 + bits.read(6)
    if object_type == 0:
        raise FlvTagError("AudioSpecificConfig has audio object type 0 (null)")
    index = bits.read(4)
    if index == _EXPLICIT_RATE_INDEX:
        sample_rate = bits.read(24)
    elif index < len(_AAC_SAMPLE_RATES):
        sample_rate = _AAC_SAMPLE_RATES[index]
    else:
        raise FlvTagError(f"AudioSpecificConfig uses reserved sampling frequency index {index}")
    if not sample_rate:
        raise FlvTagError("AudioSpecificConfig has an explicit sampling frequency of 0")
    channel_config = bits.read(4)
    channels = _AAC_CHANNELS.get(channel_config)
    if channels is None:
        raise FlvTagError(f"AudioSpecificConfig channel configuration {channel_config} is not supported")
    return AudioConfig(asc=bytes(asc), sample_rate=sample_rate, channels=channels, object_type=object_type)


class _BitReader:
    """MSB-first bit reader over the first bytes of a short header; reads past the end raise."""

    _MAX_BYTES: Final = 8  # The fields parsed above need at most 43 bits.

    def __init__(self, data: bytes) -> None:
        head = data[: self._MAX_BYTES]
        self._value = int.from_bytes(head, "big")
        self._remaining = 8 * len(head)

    def read(self, width: int) -> int:
        if width > self._remaining:
            raise FlvTagError("AudioSpecificConfig is truncated")
        self._remaining -= width
        return (self._value >> self._remaining) & ((1 << width) - 1)


class TagDemuxer:
    """One publishing session's FLV tag parser, feeding its :class:`LiveInput`.

    Holds the per-session "already warned" set so an unsupported stream produces one log line,
    not one per frame.
    """

    def __init__(
        self,
        sink: LiveInput,
        log: structlog.typing.FilteringBoundLogger,
        name: str,
        *,
        meter: PublishMeter | None = None,
    ) -> None:
        """``meter`` counts every audio/video tag body received; the demuxer closes it."""
        self._sink = sink
        self._meter = meter
        self._log = log
        self._name = name
        self._warned: set[str] = set()
        self._transcoder: AudioTranscoder | None = None

    def metadata(self, metadata: dict[str, object]) -> None:
        """onMetaData names the audio codec before any audio: a transcode can be announced early."""
        codec = metadata.get("audiocodecid")
        if isinstance(codec, (int, float)) and codec == int(codec) and transcodable(int(codec)):
            self._start_transcode(int(codec))

    def close(self) -> None:
        if self._meter is not None:
            self._meter.close()
        if self._transcoder is not None:
            self._transcoder.close()
            self._transcoder = None

    def video(self, body: bytes, timestamp: int) -> None:
        if self._meter is not None:
            self._meter.received("video", len(body))
        if not body:
            return
        head = body[0]
        if head & _EX_HEADER:
            self._ignore("rtmp.enhanced_rtmp_video_ignored", fourcc=body[1:5].hex())
            dropped("rtmp", "unsupported_codec")  # HEVC, AV1, VP9 over Enhanced RTMP
            return
        frame_type = head >> 4
        if frame_type == _INFO_FRAME:
            self._ignore("rtmp.video_info_frame_ignored")  # a command, not a picture
            return
        codec_id = head & 0x0F
        if codec_id != _CODEC_AVC:
            self._ignore("rtmp.unsupported_video_codec", codec_id=codec_id)
            dropped("rtmp", "unsupported_codec")
            return
        if len(body) < 5:
            raise FlvTagError(f"AVC video tag of {len(body)} bytes, shorter than its 5-byte header")
        packet_type = body[1]
        if packet_type == _NALU_OR_RAW:
            if len(body) > 5:
                cts = int.from_bytes(body[2:5], "big", signed=True)
                keyframe = frame_type == _KEYFRAME
                self._sink.on_packet(MediaPacket("video", timestamp, cts, keyframe, body[5:], time.time()))
        elif packet_type == _SEQUENCE_HEADER:
            self._sink.on_video_config(parse_avc_decoder_config(body[5:]))
        elif packet_type != _END_OF_SEQUENCE:
            raise FlvTagError(f"unknown AVCPacketType {packet_type}")

    def audio(self, body: bytes, timestamp: int) -> None:
        if self._meter is not None:
            self._meter.received("audio", len(body))
        if not body:
            return
        sound_format = body[0] >> 4
        if sound_format != _SOUND_AAC:
            if not transcodable(sound_format):
                self._ignore("rtmp.unsupported_audio_codec", sound_format=sound_format)
                dropped("rtmp", "unsupported_codec")
            elif len(body) > 1:
                transcoder = self._start_transcode(sound_format)
                transcoder.put(body[0], body[1:], timestamp, time.time())
            return
        if len(body) < 2:
            raise FlvTagError("AAC audio tag without its AACPacketType byte")
        packet_type = body[1]
        if packet_type == _NALU_OR_RAW:
            if len(body) > 2:
                self._sink.on_packet(MediaPacket("audio", timestamp, 0, True, body[2:], time.time()))
        elif packet_type == _SEQUENCE_HEADER:
            self._sink.on_audio_config(parse_audio_specific_config(body[2:]))
        else:
            raise FlvTagError(f"unknown AACPacketType {packet_type}")

    def _start_transcode(self, sound_format: int) -> AudioTranscoder:
        if self._transcoder is None:
            self._transcoder = AudioTranscoder(self._name, self._deliver_transcoded)
            self._sink.on_audio_config(self._transcoder.config)
            self._log.info("rtmp.audio_transcoded_to_aac", sound_format=sound_format)
        return self._transcoder

    def _deliver_transcoded(self, packets: list[MediaPacket]) -> None:
        if self._transcoder is not None:  # nothing once the publish has ended
            for packet in packets:
                self._sink.on_packet(packet)

    def _ignore(self, event: str, **fields: object) -> None:
        if event not in self._warned:
            self._warned.add(event)
            self._log.warning(event, **fields)
