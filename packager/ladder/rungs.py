"""The ladder plan: which renditions to encode for a source, at what size and bitrate.

Pure functions of the source's size and frame rate, so the plan is decided once per session
and is easy to test. A live rung is never as large as the source (the passthrough rendition
already serves that size; a VOD has no passthrough, so it asks for the source's own height
too), keeps the source's aspect ratio in even dimensions (4:2:0 chroma needs them), and gets a
bitrate from a bits-per-pixel rule clamped to per-height caps. Nothing is ever upscaled.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_HEIGHTS: tuple[int, ...] = (720, 480, 360)
BITS_PER_PIXEL = 0.1
"""At 30 fps: 1280x720 → 2.76 Mb/s, 854x480 → 1.23 Mb/s, 640x360 → 0.69 Mb/s."""
_REFERENCE_FPS = 30.0
_HIGH_FPS_WEIGHT = 0.5
"""Frames beyond 30 fps cost half as many bits each: consecutive frames differ less, so 60 fps
needs about 1.5x the 30 fps bitrate, not 2x."""
_MAXRATE_FACTOR = 1.5
_BUFSIZE_SECONDS = 1.0
"""VBV buffer of one second at maxrate: tight enough for 0.2 s parts to stay near the average."""

_CAPS: tuple[tuple[int, int, int], ...] = (
    # (height, min b/s, max b/s): Apple's HLS authoring ladder brackets, loosely.
    (180, 150_000, 400_000),
    (240, 200_000, 700_000),
    (360, 400_000, 1_200_000),
    (480, 600_000, 2_000_000),
    (720, 1_500_000, 4_500_000),
    (1080, 3_000_000, 8_000_000),
    (1440, 6_000_000, 14_000_000),
    (2160, 10_000_000, 25_000_000),
)


@dataclass(frozen=True, slots=True)
class Rung:
    """One encoded rendition. Bitrates in bits per second."""

    width: int
    height: int
    bitrate: int
    maxrate: int
    bufsize: int

    @property
    def name(self) -> str:
        return f"{self.height}p"

    @property
    def pixels(self) -> int:
        """Encoding cost grows with the pixel count: load shedding drops the largest first."""
        return self.width * self.height


def _even(value: float) -> int:
    """Nearest even integer, halves up (``round`` would send 405 to 404 but 407 to 408)."""
    return max(2, math.floor(value / 2 + 0.5) * 2)


def rung_width(source_width: int, source_height: int, height: int) -> int:
    """Width that keeps the source's aspect ratio at ``height``, rounded to even."""
    return _even(source_width * height / source_height)


def frame_rate_factor(fps: float) -> float:
    """Bitrate multiplier relative to 30 fps: proportional below it, half-weight above it."""
    if fps <= _REFERENCE_FPS:
        return fps / _REFERENCE_FPS
    return 1 + _HIGH_FPS_WEIGHT * (fps - _REFERENCE_FPS) / _REFERENCE_FPS


def bitrate_caps(height: int) -> tuple[int, int]:
    """(min, max) for the smallest capped height at or above ``height`` (the largest beyond)."""
    index = min(bisect.bisect_left([h for h, _, _ in _CAPS], height), len(_CAPS) - 1)
    _, low, high = _CAPS[index]
    return low, high


def target_bitrate(width: int, height: int, fps: float) -> int:
    raw = BITS_PER_PIXEL * width * height * _REFERENCE_FPS * frame_rate_factor(fps)
    low, high = bitrate_caps(height)
    return int(min(max(raw, low), high))


def plan_rungs(
    source_width: int,
    source_height: int,
    fps: float,
    heights: Sequence[int] = DEFAULT_HEIGHTS,
    *,
    source_height_allowed: bool = False,
) -> list[Rung]:
    """The rungs to encode for this source, largest first; empty when the source is small.

    ``source_height_allowed``: a height equal to the source's is planned too (a VOD encodes
    every rendition it serves); larger ones never are.
    """
    limit = source_height + 1 if source_height_allowed else source_height
    planned: dict[int, Rung] = {}
    for requested in heights:
        height = requested - requested % 2
        if not 2 <= height < limit or height in planned:
            continue
        width = rung_width(source_width, source_height, height)
        bitrate = target_bitrate(width, height, fps)
        maxrate = int(bitrate * _MAXRATE_FACTOR)
        planned[height] = Rung(width, height, bitrate, maxrate, int(maxrate * _BUFSIZE_SECONDS))
    return sorted(planned.values(), key=lambda rung: rung.height, reverse=True)
