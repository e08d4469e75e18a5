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
from packager.ladder.rungs import Rung
from packager.ladder.transcoder import TranscoderOptions
from packager.live.publish_session import PublishSession
from packager.live.rung_windows import RungWindows
from packager.live.stream_recorder import StreamRecorder
from packager.live.window import LiveWindow, VariantInfo
from packager.media import VideoConfig
from packager.metrics import part_published

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
        ladder: TranscoderOptions | None = None,
        recorder: StreamRecorder | None = None,
        on_ended: Callable[[LiveStream], None] | None = None,
    ) -> None:
        """``on_gone``: the stream may be forgotten (it ended and lingered); ``on_ended``: it
        ended, once (grace period over, or closed)."""
        self.name = name
        self._recorder = recorder
        self._recording: asyncio.Task[None] | None = None
        # Media URLs are cached as immutable, so a stream that starts again under the same name
        # (later, or on a restarted node) must never reuse one: numbering starts at the clock.
        self.window = LiveWindow(
            segment_target=segment_target,
            window_segments=window_segments,
            first_sequence=time.time_ns() // 1_000_000,
            recorder=recorder.rendition(SOURCE_RENDITION) if recorder else None,
        )
        self.rungs = RungWindows(
            name,
            segment_target=segment_target,
            window_segments=window_segments,
            recorder=recorder,
        )
        self._ladder = ladder
        self._part_target = part_target
        self._grace = reconnect_grace
        self._on_gone = on_gone
        self._on_ended = on_ended
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
        self.session = PublishSession(
            self, start_ms=self._next_start_ms, part_target=self._part_target, ladder=self._ladder
        )
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
        self.rungs.publisher_left()
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
        if self._recording is not None:
            # Shielded: cancelling this timer (a new publisher takes the name, or shutdown)
            # must not cancel the recording, which close() awaits to completion.
            await asyncio.shield(self._recording)
        await asyncio.sleep(_ENDED_LINGER_S)
        self._on_gone(self)

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.window.end()
            self.rungs.end()
            log.info("live.stream_ended", stream=self.name)
            if self._on_ended is not None:
                self._on_ended(self)
            if self._recorder is not None:
                self._recording = asyncio.get_running_loop().create_task(
                    self._recorder.finish(self.variants())
                )

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
        if self._recording is not None:
            await asyncio.shield(self._recording)

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
        opened = self.window.add_part(part.data, part.duration, part.independent, wallclock)
        part_published(SOURCE_RENDITION, wallclock)
        if opened is not None:
            self.rungs.source_segment(part.start, opened)

    # Ladder output (called on the loop by the session) -----------------------------------------

    def ladder_planned(self, rungs: tuple[Rung, ...]) -> None:
        self.rungs.planned(rungs)

    def new_rung_init(
        self, rung: Rung, config: VideoConfig, init: bytes, part_target: float
    ) -> None:
        self.rungs.new_init(rung, config, init, part_target)

    def add_rung_part(self, rung: Rung, part: Part, wallclock: float) -> None:
        self.rungs.add_part(rung, part, wallclock)

    def rung_dropped(self, rung: Rung) -> None:
        self.rungs.shed(rung)

    # What the origin reads (LiveStreamView) ----------------------------------------------------

    def rendition(self, name: str) -> LiveWindow | None:
        return self.window if name == SOURCE_RENDITION else self.rungs.window(name)

    def variants(self) -> list[VariantInfo]:
        """The passthrough first (players start with the first listed), then rungs, largest first."""
        session = self.session or self._last_session
        if session is None:
            return []
        audio = [session.audio.codec_string] if session.audio is not None else []
        peak, average = self.window.peak_bitrate(), self.window.average_bitrate()
        if not peak:
            peak = average = _metadata_bitrate(session.metadata) or _DEFAULT_BITRATE
        width, height = self._video_size or (0, 0)
        video = [session.video.codec_string] if session.video is not None else []
        variants = [
            VariantInfo(
                name=SOURCE_RENDITION,
                codecs=",".join(video + audio),
                width=width,
                height=height,
                frame_rate=self._frame_rate,
                bandwidth=peak,
                average_bandwidth=average or peak,
            )
        ]
        audio_bitrate = _metadata_bitrate(session.metadata, ("audiodatarate",))
        for rung, window in self.rungs.serving():
            codecs = [self.rungs.codec(rung.name)]
            measured_peak = window.peak_bitrate()
            variants.append(
                VariantInfo(
                    name=rung.name,
                    codecs=",".join(codecs + audio),
                    width=rung.width,
                    height=rung.height,
                    frame_rate=self._frame_rate,
                    # Until a segment is measured, the encoder's own limits are the best bound.
                    bandwidth=measured_peak or rung.maxrate + audio_bitrate,
                    average_bandwidth=window.average_bitrate() or rung.bitrate + audio_bitrate,
                )
            )
        return variants

    async def wait_ready(self, timeout: float) -> bool:
        """The passthrough's first part, then (within the same time) the ladder's first parts."""
        deadline = asyncio.get_running_loop().time() + timeout
        if not await self.window.wait_ready(timeout):
            return False
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining > 0 and not self.rungs.settled.is_set():
            try:
                await asyncio.wait_for(self.rungs.settled.wait(), remaining)
            except TimeoutError:
                pass  # list the rungs that are ready; the rest join later multivariant loads
        return True

    @property
    def part_latencies(self) -> list[float]:
        session = self.session or self._last_session
        return list(session.part_latencies) if session else []


def _metadata_bitrate(
    metadata: dict[str, object], keys: tuple[str, ...] = ("videodatarate", "audiodatarate")
) -> int:
    """onMetaData announces kbit/s for each track; before a segment completes it is the best hint."""
    total = 0.0
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, (int, float)) and 0 < value < 1_000_000:
            total += value * 1000
    return int(total)
