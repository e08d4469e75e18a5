"""The source's keyframe cadence and frame rate, measured from its first GOP.

Encoded rungs need both before their encoders open: the GOP length is x264's fixed keyint, the
frame rate its rate-control hint. Publishers rarely declare either reliably (RTMP metadata is
optional and often wrong), so they are measured from the packets themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packager.cmaf_muxer import TimedPacket, snap_frame_duration
from packager.timeline import VIDEO_TIMESCALE

FALLBACK_FRAME_RATE = 30.0


@dataclass(frozen=True, slots=True)
class Cadence:
    gop: int
    """Frames from one keyframe to the next."""
    frame_rate: float


def measure_cadence(gop: Sequence[TimedPacket]) -> Cadence:
    """``gop``: video packets in decode order, starting at a keyframe and ending just before
    the next one (or at the end of a stream shorter than one GOP)."""
    if not gop or not gop[0].keyframe:
        raise ValueError("a GOP starts at a keyframe")
    steps = sorted(b.dts - a.dts for a, b in zip(gop, gop[1:]))
    if not steps:
        return Cadence(1, FALLBACK_FRAME_RATE)
    frame_seconds = snap_frame_duration(steps[len(steps) // 2] / VIDEO_TIMESCALE)
    return Cadence(len(gop), 1 / frame_seconds)
