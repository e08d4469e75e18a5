"""The encoded renditions of one publish session: ladder rungs muxed alongside the passthrough.

The transcoder's threads call the :class:`~packager.ladder.transcoder.LadderSink` methods; each
call is forwarded to the event loop, where every rung gets its own :class:`MuxWorker` (a thread:
muxing never runs on the loop) and its parts go to the stream's window for that rung.

Audio is the session's own AAC, shared by every rendition rather than encoded per rung. A rung's
video comes out a GOP late at start and an encode later after that, so each rung holds the audio
back until its video has reached the same media time: the muxer then sees both tracks in step,
as it does for the passthrough, and a rung's parts carry the same audio as the source's.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from packager.cmaf_muxer import TimedPacket
from packager.ladder.rungs import Rung
from packager.ladder.transcoder import Transcoder, TranscoderOptions
from packager.live.mux_worker import MuxerOutput, MuxWorker
from packager.media import AudioConfig, VideoConfig
from packager.timeline import VIDEO_TIMESCALE

log = structlog.get_logger(__name__)

_MAX_HELD_AUDIO = 2048
"""About 43 s of 48 kHz AAC: far beyond the lag at which a rung is shed, so only a rung that has
stopped producing video ever reaches it (then the oldest audio goes, not the node's memory)."""


class LadderListener(Protocol):
    """The stream side of the ladder (called on the loop)."""

    def ladder_planned(self, rungs: Sequence[Rung]) -> None: ...

    def rung_output(self, rung: Rung, config: VideoConfig, output: MuxerOutput) -> None: ...

    def rung_dropped(self, rung: Rung) -> None: ...


class _RungOutput:
    """One rung's muxing: its worker, and the shared audio held back to its video's time."""

    def __init__(
        self,
        stream: str,
        rung: Rung,
        config: VideoConfig,
        audio: AudioConfig | None,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[Rung, MuxerOutput], None],
        part_target: float,
    ) -> None:
        self.config = config
        self._audio = audio
        self._held_audio: deque[TimedPacket] = deque(maxlen=_MAX_HELD_AUDIO)
        self._video_seconds = float("-inf")
        self.worker = MuxWorker(
            f"{stream}-{rung.name}", loop, functools.partial(deliver, rung), part_target=part_target
        )
        self.worker.start(config, audio)

    def video(self, packets: list[TimedPacket]) -> None:
        for packet in packets:
            self._video_seconds = packet.dts / VIDEO_TIMESCALE
            self._release_audio()
            self.worker.put(packet)

    def audio(self, packet: TimedPacket) -> None:
        if self._audio is not None:
            self._held_audio.append(packet)
            self._release_audio()

    def flush_audio(self) -> None:
        """The rung's video has ended: the audio up to the session's end goes in too."""
        self._video_seconds = float("inf")
        self._release_audio()

    def _release_audio(self) -> None:
        if self._audio is None:
            return
        rate = self._audio.sample_rate
        while self._held_audio and self._held_audio[0].dts / rate <= self._video_seconds:
            self.worker.put(self._held_audio.popleft())


class LadderOutputs:
    """Everything the ladder of one publish session produces; implements ``LadderSink``.

    Owned by the publish session: :meth:`video` and :meth:`audio` on the loop, :meth:`stop`
    awaited at the end.
    """

    def __init__(
        self,
        stream: str,
        source: VideoConfig,
        audio: AudioConfig | None,
        listener: LadderListener,
        *,
        part_target: float,
        options: TranscoderOptions,
    ) -> None:
        self._stream = stream
        self._audio = audio
        self._listener = listener
        self._part_target = part_target
        self._loop = asyncio.get_running_loop()
        self._rungs: dict[str, _RungOutput] = {}
        self._early_audio: deque[TimedPacket] | None = deque(maxlen=_MAX_HELD_AUDIO)
        """Audio since the session began, until every rung has started: rungs start a GOP late
        but encode from the first keyframe, so they need the audio from the beginning too."""
        self._unstarted: set[str] | None = None
        self._detached = False
        self._shed_stops: set[asyncio.Task[None]] = set()
        self._transcoder = Transcoder(stream, source, self, options)
        self._transcoder.start()

    @property
    def transcoder(self) -> Transcoder:
        return self._transcoder

    def video(self, packet: TimedPacket) -> None:
        self._transcoder.put(packet)

    def audio(self, packet: TimedPacket) -> None:
        if self._early_audio is not None:
            self._early_audio.append(packet)
        for output in self._rungs.values():
            output.audio(packet)

    def detach(self) -> None:
        """Stop reporting to the listener: a new ladder (new source configuration) took over."""
        self._detached = True

    async def stop(self) -> None:
        """Drain the transcoder, then flush every rung's muxer; all parts delivered on return."""
        await asyncio.to_thread(self._transcoder.stop)
        # Rung threads posted their last packets before the join returned, so those callbacks
        # run before this coroutine resumes (the loop's ready queue is FIFO).
        for output in self._rungs.values():
            output.flush_audio()
        await asyncio.gather(*(output.worker.stop() for output in self._rungs.values()))
        if self._shed_stops:
            await asyncio.gather(*self._shed_stops)

    # LadderSink: called from transcoder threads ---------------------------------------------

    def planned(self, rungs: Sequence[Rung]) -> None:
        self._loop.call_soon_threadsafe(self._planned, tuple(rungs))

    def rung_started(self, rung: Rung, config: VideoConfig) -> None:
        self._loop.call_soon_threadsafe(self._start_rung, rung, config)

    def rung_packets(self, rung: Rung, packets: list[TimedPacket]) -> None:
        self._loop.call_soon_threadsafe(self._rung_packets, rung, packets)

    def rung_ended(self, rung: Rung, *, shed: bool) -> None:
        if shed:
            self._loop.call_soon_threadsafe(self._shed, rung)

    # on the loop --------------------------------------------------------------------------

    def _planned(self, rungs: tuple[Rung, ...]) -> None:
        self._unstarted = {rung.name for rung in rungs} - set(self._rungs)
        self._forget_early_audio()
        if not self._detached:
            self._listener.ladder_planned(rungs)

    def _forget_early_audio(self) -> None:
        if self._unstarted is not None and not self._unstarted:
            self._early_audio = None

    def _output(self, rung: Rung, output: MuxerOutput) -> None:
        current = self._rungs.get(rung.name)
        if not self._detached and current is not None:
            self._listener.rung_output(rung, current.config, output)

    def _start_rung(self, rung: Rung, config: VideoConfig) -> None:
        output = _RungOutput(
            self._stream, rung, config, self._audio, self._loop, self._output, self._part_target
        )
        for packet in self._early_audio or ():
            output.audio(packet)
        self._rungs[rung.name] = output
        if self._unstarted is not None:
            self._unstarted.discard(rung.name)
            self._forget_early_audio()

    def _rung_packets(self, rung: Rung, packets: list[TimedPacket]) -> None:
        output = self._rungs.get(rung.name)
        if output is not None:
            output.video(packets)

    def _shed(self, rung: Rung) -> None:
        output = self._rungs.pop(rung.name, None)
        if not self._detached:
            self._listener.rung_dropped(rung)
        if output is not None:
            task = self._loop.create_task(output.worker.stop())
            self._shed_stops.add(task)
            task.add_done_callback(self._shed_stops.discard)
