"""Two HLS rules every playlist writer here applies, live or VOD, so they are stated once.

* EXT-X-TARGETDURATION may not be below any EXTINF rounded to the nearest integer (half up).
* BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the mean over the segments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def rounded_duration(seconds: float) -> int:
    """An EXTINF rounded as TARGETDURATION is compared with it (``round`` would halve to even)."""
    return math.floor(seconds + 0.5)


def segment_bit_rates(segments: Iterable[tuple[int, float]]) -> tuple[int, int]:
    """``(peak, average)`` bits per second of ``(bytes, seconds)`` segments; zero-length
    segments are skipped, and nothing measurable gives ``(0, 0)``."""
    timed = [(size, seconds) for size, seconds in segments if seconds > 0]
    total = sum(seconds for _, seconds in timed)
    if not timed:
        return 0, 0
    peak = max(round(size * 8 / seconds) for size, seconds in timed)
    return peak, round(sum(size for size, _ in timed) * 8 / total)
