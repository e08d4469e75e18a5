"""The ingest → packager contract: encoded media, codec configuration and the sink that takes them.

Ingest protocols (RTMP today, WHIP later) translate their wire formats into these types and
never reach further into the packager. The packager never sees RTMP chunks or SDP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

MediaKind = Literal["video", "audio"]


@dataclass(frozen=True, slots=True)
class VideoConfig:
    """H.264 decoder configuration as carried in an FLV AVC sequence header.

    ``avcc`` is the AVCDecoderConfigurationRecord (ISO/IEC 14496-15): it is the extradata the
    MP4 ``avcC`` box needs verbatim, and its bytes 1..3 give the RFC 6381 codec string.
    """

    avcc: bytes

    @property
    def codec_string(self) -> str:
        """RFC 6381 ``avc1.PPCCLL`` for HLS CODECS attributes."""
        return "avc1." + self.avcc[1:4].hex()


@dataclass(frozen=True, slots=True)
class AudioConfig:
    """AAC AudioSpecificConfig (ISO/IEC 14496-3) plus the two fields the packager needs from it."""

    asc: bytes
    sample_rate: int
    channels: int
    object_type: int

    @property
    def codec_string(self) -> str:
        return f"mp4a.40.{self.object_type}"


@dataclass(frozen=True, slots=True)
class MediaPacket:
    """One encoded access unit.

    Timestamps are the publisher's own milliseconds, exactly as sent (RTMP timestamps are 32-bit
    and may wrap, jump or start anywhere): unwrapping and rebasing is the packager's job, so every
    ingest protocol gets the same treatment. ``received`` is the ingest wall clock (``time.time()``)
    when the message completed; program-date-time and latency figures are anchored on it.
    """

    kind: MediaKind
    dts_ms: int
    cts_ms: int
    keyframe: bool
    data: bytes
    received: float


class LiveInput(Protocol):
    """What a publishing session feeds. Methods are called on the event loop and must not block."""

    @property
    def stream(self) -> str:
        """The name of the stream being published. An ingest protocol only ever sees a key; it
        labels its per-publisher metrics with this (``ingest/metrics.py``)."""
        ...

    def on_metadata(self, metadata: dict[str, object]) -> None: ...

    def on_video_config(self, config: VideoConfig) -> None: ...

    def on_audio_config(self, config: AudioConfig) -> None: ...

    def on_packet(self, packet: MediaPacket) -> None: ...

    def close(self) -> None:
        """The publisher went away (cleanly or not); the packager starts its reconnect grace."""
        ...
