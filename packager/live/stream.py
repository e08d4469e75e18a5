"""A live stream across publisher sessions: its window, who publishes it, and the reconnect grace.

Publishers drop and come back (OBS reconnects on its own). Within the grace period the same
playlists continue: the next session's media time starts where the last one ended, the window
gets a discontinuity and the new init segment. After the grace the playlist ends with ENDLIST
and the stream lingers a little so players can read that before it disappears.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import structlog

from packager.cmaf_muxer import Part
from packager.live.publish_session import PublishSession
from packager.live.window import LiveWindow, VariantInfo

log = structlog.get_logger(__name__)

SOURCE_RENDITION = "source"
_ENDED_LINGER_S = 30.0
_DEFAULT_BITRATE = 2_500_000


class AlreadyPublishing(Exception):
    pass


class LiveStream:
    def __init__(
        self,
        name: str,
        *,
        part_target: float,
        segment_target: float,
        window_segments: int,
        reconnect_grace: float,
        on_gone: Callable[[LiveStream], None],
    ) -> None:
        self.name = name
        # Media URLs are cached as immutable, so a stream that starts again under the same name
        # (later, or on a restarted node) must never reuse one: numbering starts at the clock.
        self.window = LiveWindow(
            segment_target=segment_target,
            window_segments=window_segments,
            first_sequence=time.time_ns() // 1_000_000,
        )
        self._part_target = part_target
        self._grace = reconnect_grace
        self._on_gone = on_gone
        self.session: PublishSession | None = None
        self._last_session: PublishSession | None = None
        self._next_start_ms = 0
        self._has_init = False
        self._video_size: tuple[int, int] | None = None
        self._frame_rate: float | None = None
        self._finishing: asyncio.Task[None] | None = None
        self._lifecycle: asyncio.Task[None] | None = None
        self._open_lock = asyncio.Lock()
        self.ended = False
        self.sessions = 0

    # Publishing ------------------------------------------------------------------------------

    async def open_session(self) -> PublishSession:
        async with self._open_lock:
            if self._finishing is not None:
                await asyncio.shield(self._finishing)  # the previous session's last parts go first
            if self.session is not None:
                raise AlreadyPublishing(f"stream {self.name!r} already has a publisher")
            if self.ended:
                raise AlreadyPublishing(f"stream {self.name!r} has ended")
            return self._start_session()

    def _start_session(self) -> PublishSession:
        if self._lifecycle is not None:
            self._lifecycle.cancel()
            self._lifecycle = None
        self.session = PublishSession(self, start_ms=self._next_start_ms, part_target=self._part_target)
        self.sessions += 1
        if self.sessions > 1:
            log.info("live.publisher_returned", stream=self.name, session=self.sessions)
        return self.session

    def session_closed(self, session: PublishSession) -> None:
        """The publisher left: flush its parts, then wait out the grace period."""
        if session is not self.session:
            return
        self.session = None
        self._last_session = session
        self._finishing = asyncio.get_running_loop().create_task(self._finish(session))

    async def _finish(self, session: PublishSession) -> None:
        media_end = await session.finish()
        self._next_start_ms = max(self._next_start_ms, math.ceil(media_end * 1000) + 1)
        self._finishing = None
        if self.session is None and not self.ended:
            self._lifecycle = asyncio.get_running_loop().create_task(self._grace_then_end())

    async def _grace_then_end(self) -> None:
        await asyncio.sleep(self._grace)
        self.end()
        await asyncio.sleep(_ENDED_LINGER_S)
        self._on_gone(self)

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.window.end()
            log.info("live.stream_ended", stream=self.name)

    async def close(self) -> None:
        """Node shutdown: stop the publisher's worker, end the playlist, cancel pending timers."""
        if self.session is not None:
            self.session.close()
        if self._finishing is not None:
            await asyncio.shield(self._finishing)
        if self._lifecycle is not None:
            self._lifecycle.cancel()
            self._lifecycle = None
        self.end()

    # Muxer output (called on the loop by the session) -----------------------------------------

    def new_init(
        self,
        init: bytes,
        part_target: float,
        video_size: tuple[int, int] | None,
        frame_rate: float | None,
    ) -> None:
        if self._has_init:
            self.window.discontinuity()
        self._has_init = True
        self._video_size = video_size or self._video_size
        self._frame_rate = frame_rate or self._frame_rate
        self.window.set_init(init, part_target)

    def add_part(self, part: Part, wallclock: float) -> None:
        self.window.add_part(part.data, part.duration, part.independent, wallclock)

    # What the origin reads (LiveStreamView) ----------------------------------------------------

    def rendition(self, name: str) -> LiveWindow | None:
        return self.window if name == SOURCE_RENDITION else None

    def variants(self) -> list[VariantInfo]:
        session = self.session or self._last_session
        if session is None:
            return []
        codecs = [c.codec_string for c in (session.video, session.audio) if c is not None]
        peak, average = self.window.peak_bitrate(), self.window.average_bitrate()
        if not peak:
            peak = average = _metadata_bitrate(session.metadata) or _DEFAULT_BITRATE
        width, height = self._video_size or (0, 0)
        return [
            VariantInfo(
                name=SOURCE_RENDITION,
                codecs=",".join(codecs),
                width=width,
                height=height,
                frame_rate=self._frame_rate,
                bandwidth=peak,
                average_bandwidth=average or peak,
            )
        ]

    async def wait_ready(self, timeout: float) -> bool:
        return await self.window.wait_ready(timeout)

    @property
    def part_latencies(self) -> list[float]:
        session = self.session or self._last_session
        return list(session.part_latencies) if session else []


def _metadata_bitrate(metadata: dict[str, object]) -> int:
    """onMetaData announces kbit/s for each track; before a segment completes it is the best hint."""
    total = 0.0
    for key in ("videodatarate", "audiodatarate"):
        value = metadata.get(key)
        if isinstance(value, (int, float)) and 0 < value < 1_000_000:
            total += value * 1000
    return int(total)
