"""Constant-frame-rate output slots for a variable-rate WebRTC source, phase-locked to it.

Hand-written because this is a few lines of arithmetic specific to feeding the packager;
ffmpeg's own CFR conversion (``fps`` filter, ``-fps_mode cfr``) keeps a fixed phase, which is
what this avoids.

WebRTC frames carry capture times that jitter by milliseconds, and browsers drop or add frames
as CPU and bandwidth allow. The packager plans parts as a whole number of frames of the first
frames' duration and must never list a part longer than PART-TARGET (the planned duration +
1 ms), so the ingest encode emits one frame per slot of a constant-rate grid:

* a frame goes to its nearest slot; slots it skipped repeat the previous frame (up to
  ``max_hold`` seconds; a longer stall leaves a gap and the grid restarts at the frame); a
  frame whose slot is already filled (a faster source) is dropped;
* the grid's phase follows the frames: the smoothed offset between frames and their slots is
  removed at most :data:`MAX_STEP` per slot, so a source whose rate is slightly off nominal
  (29.97 vs 30) never drifts to a slot boundary (where it would drop and repeat frames), and a
  frame ends up shown at its capture time rather than up to half a period away. Six slots of
  a part then span at most 0.9 ms more than six periods, inside PART-TARGET's 1 ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAX_STEP: Final = 0.00015
"""Seconds the grid may shift per slot while following the source's phase."""
SMOOTHING: Final = 0.1
"""Weight of each new frame in the smoothed frame-to-slot offset (capture jitter averages out)."""


@dataclass(frozen=True, slots=True)
class Slot:
    index: int
    """Counts slots from the first (the keyframe cadence is in slots)."""
    time: float
    """Session seconds."""


class FrameGrid:
    def __init__(self, rate: int, *, max_hold: float) -> None:
        self._period = 1 / rate
        self._max_repeats = round(max_hold * rate)
        self._next: Slot | None = None
        self._offset = 0.0
        self.dropped = 0
        self.repeated = 0

    def place(self, time: float) -> list[Slot]:
        """Slots to emit for a frame captured at ``time``: repeats of the previous frame, then
        the frame's own (last); empty if the frame is dropped."""
        upcoming = self._next
        if upcoming is None:
            return self._fill(Slot(0, time))
        skipped = round((time - upcoming.time) / self._period)
        if skipped < 0:
            self.dropped += 1
            return []
        if skipped > self._max_repeats:
            self._offset = 0.0
            return self._fill(Slot(upcoming.index + skipped, time))
        repeats = [Slot(upcoming.index + i, upcoming.time + i * self._period) for i in range(skipped)]
        self.repeated += skipped
        nominal = upcoming.time + skipped * self._period
        self._offset += SMOOTHING * ((time - nominal) - self._offset)
        step = max(-MAX_STEP, min(MAX_STEP, self._offset))
        self._offset -= step
        return [*repeats, *self._fill(Slot(upcoming.index + skipped, nominal + step))]

    def _fill(self, slot: Slot) -> list[Slot]:
        self._next = Slot(slot.index + 1, slot.time + self._period)
        return [slot]
