"""The windows of a live stream's encoded renditions, kept segment for segment in step with the
passthrough.

A player switches renditions at segment boundaries by Media Sequence Number, so MSN *n* must
cover the same media time in every rendition. Rung keyframes land exactly on the source's
(see ``packager/ladder``), but a rung starts a GOP late and the passthrough's segmenting depends
on history (durations summed since its last cut), so a rung window must not cut segments on its
own: the passthrough window leads, and every segment it opens is remembered by its first part's
media time. A rung part starting at one of those times opens the same MSN in the rung's window
(a *following* window, see :class:`LiveWindow`). A rung that misses a boundary (frames lost to a
decode error) can no longer be kept in step, so it is dropped rather than served misaligned.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence

import structlog

from packager.cmaf_muxer import Part
from packager.ladder.rungs import Rung
from packager.metrics import RENDITIONS_DROPPED, part_published
from packager.live.stream_recorder import StreamRecorder
from packager.live.window import LiveWindow, SegmentStart
from packager.media import VideoConfig
from packager.timeline import VIDEO_TIMESCALE

log = structlog.get_logger(__name__)

_REMEMBERED_BOUNDARIES = 256
"""Passthrough segment starts kept for rungs to match: minutes of segments, far more than any
rung that is still being served can lag."""


def _tick(seconds: float) -> int:
    """Part starts are 90 kHz decode times divided by 90 000: this recovers the exact tick."""
    return round(seconds * VIDEO_TIMESCALE)


class RungWindows:
    def __init__(
        self,
        stream: str,
        *,
        segment_target: float,
        window_segments: int,
        recorder: StreamRecorder | None,
    ) -> None:
        self._stream = stream
        self._segment_target = segment_target
        self._window_segments = window_segments
        self._recorder = recorder
        self._windows: dict[str, LiveWindow] = {}
        self._rungs: dict[str, tuple[Rung, VideoConfig]] = {}
        self._boundaries: dict[int, SegmentStart] = {}
        self._boundary_order: deque[int] = deque()
        self._awaiting: set[str] = set()
        self.settled = asyncio.Event()
        """Set once the ladder of the current publish has been planned and every planned rung
        has its first part (or was dropped): the multivariant playlist then lists them all."""
        self.dropped: list[str] = []
        """Rungs dropped during the stream's life (shed for CPU or misaligned), for metrics."""

    # the passthrough's side ----------------------------------------------------------------

    def source_segment(self, part_start: float, start: SegmentStart) -> None:
        """The passthrough window opened ``start`` with a part starting at ``part_start``."""
        tick = _tick(part_start)
        self._boundaries[tick] = start
        self._boundary_order.append(tick)
        while len(self._boundary_order) > _REMEMBERED_BOUNDARIES:
            self._boundaries.pop(self._boundary_order.popleft(), None)

    # the ladder's side -----------------------------------------------------------------------

    def planned(self, rungs: Sequence[Rung]) -> None:
        names = {rung.name for rung in rungs}
        for name in [name for name in self._windows if name not in names]:
            self._drop(name, "not in this publish's ladder", "replanned")
        self._awaiting = names
        self._settle()

    def new_init(self, rung: Rung, config: VideoConfig, init: bytes, part_target: float) -> None:
        window = self._windows.get(rung.name)
        if window is None:
            window = LiveWindow(
                segment_target=self._segment_target,
                window_segments=self._window_segments,
                # Part and init URLs of a new window must not repeat those of an earlier one
                # with the same name (a rung shed and back after a reconnect): the clock again.
                first_sequence=time.time_ns() // 1_000_000,
                recorder=self._recorder.rendition(rung.name) if self._recorder else None,
                follows=True,
            )
            self._windows[rung.name] = window
        self._rungs[rung.name] = (rung, config)
        window.set_init(init, part_target)

    def add_part(self, rung: Rung, part: Part, wallclock: float) -> None:
        window = self._windows.get(rung.name)
        if window is None:
            return
        start = self._boundaries.get(_tick(part.start)) if part.independent else None
        if start is not None and not window.expects(start):
            self._drop(rung.name, f"missed the start of segment {start.msn - 1}", "misaligned")
            return
        before = window.last_position
        window.add_part(part.data, part.duration, part.independent, wallclock, starts=start)
        if window.last_position != before:  # kept (a follower drops parts before its first segment)
            part_published(rung.name, wallclock)
        if window.last_position is not None and rung.name in self._awaiting:
            self._awaiting.discard(rung.name)
            self._settle()

    def shed(self, rung: Rung) -> None:
        self._drop(rung.name, "shed: the machine cannot encode it in real time", "shed")

    # what the stream reads -----------------------------------------------------------------

    def window(self, name: str) -> LiveWindow | None:
        return self._windows.get(name)

    def codec(self, name: str) -> str:
        """RFC 6381 codec string of the rung's video, for CODECS."""
        return self._rungs[name][1].codec_string

    def serving(self) -> list[tuple[Rung, LiveWindow]]:
        """Rungs with media, largest first."""
        return sorted(
            (
                (self._rungs[name][0], window)
                for name, window in self._windows.items()
                if window.last_position is not None
            ),
            key=lambda item: item[0].pixels,
            reverse=True,
        )

    def publisher_left(self) -> None:
        """No rung will start until the next publish plans again."""
        self._awaiting.clear()
        self._settle()

    def end(self) -> None:
        for window in self._windows.values():
            window.end()

    def _settle(self) -> None:
        if not self._awaiting:
            self.settled.set()

    def _drop(self, name: str, reason: str, kind: str) -> None:
        window = self._windows.pop(name, None)
        self._rungs.pop(name, None)
        self._awaiting.discard(name)
        self._settle()
        # Waiters on a dropped window time out (503) and new requests get 404: hls.js then
        # leaves the level. Ending it instead would tell players the whole stream had ended.
        self.dropped.append(name)
        RENDITIONS_DROPPED.labels(rendition=name, reason=kind).inc()
        if window is not None and self._recorder is not None:
            self._recorder.rendition_dropped(name)
        log.warning("live.rendition_dropped", stream=self._stream, rendition=name, reason=reason)
