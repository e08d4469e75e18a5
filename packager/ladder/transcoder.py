"""Decode a live source once and encode every rung of its ladder, each on its own thread.

Threads, not processes: PyAV releases the GIL in decode, scale and encode, and one worker per
rung measured fastest on 2 cores. The loop side only enqueues (``put``); a decode thread feeds
each decoded frame to every rung's queue; rung threads scale, encode and hand packets to the
``LadderSink``. Frames are shared, never copied: rungs only read them.

Decoded frames come out in presentation order and keep their timeline pts. Their decode times
are the source's decode times, taken in order: rungs have no B-frames, so any increasing dts <=
pts is valid, and reusing the source's makes every rung's fragments (cut on decode time) start
exactly where the passthrough's do, B-frames in the source or not, with the same
PROGRAM-DATE-TIMEs.

Encoders open once the source's first GOP has arrived (its cadence is their keyint), so the
rungs start one GOP behind the source and catch up at faster than real time.

Load shedding is judged on time, not queue length: a publisher bursts buffered frames on
connect and the first GOP is released at once, so a long queue alone proves nothing. A frame is
*ready* when it was decoded or when real time reaches its media time (the clock anchored at the
arrival of the first keyframe), whichever is later; a rung that starts a frame more than
``max_lag`` seconds after it was ready cannot keep up in real time. Rungs start a GOP behind
that clock, so they are judged only once they have had :data:`CATCH_UP_GOPS` GOPs' time to
catch up (a rung at 1.5x real time clears a one-GOP backlog in two). Then the most expensive
rung still running is shed, and another only if a frame that became ready after that shed is
late again (the others get their chance to recover first), instead of letting every rendition
fall behind.

The decoder uses slice threads, not frame threads: frame threading holds a frame per thread
before the first comes out (about 70 ms at 30 fps), which every rung's latency would carry,
and a single decode thread keeps up with 1080p several times over.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import av
import structlog

from packager.cmaf_muxer import TimedPacket
from packager.ladder.cadence import Cadence, measure_cadence
from packager.ladder.encoder import DEFAULT_PRESET, RungEncoder
from packager.ladder.rungs import DEFAULT_HEIGHTS, Rung, plan_rungs
from packager.media import VideoConfig
from packager.metrics import RUNGS_ENCODING
from packager.timeline import VIDEO_TIMESCALE

log = structlog.get_logger(__name__)

DEFAULT_MAX_LAG = 1.0
"""Seconds a rung may run behind real time: beyond that its viewers see it lag the source."""
CATCH_UP_GOPS = 3
"""GOPs of time a rung gets to clear the one-GOP backlog it starts with before it is judged."""


@dataclass(frozen=True, slots=True)
class TranscoderOptions:
    heights: Sequence[int] = DEFAULT_HEIGHTS
    """Rung heights to encode (those at or above the source's height are skipped)."""
    preset: str = DEFAULT_PRESET
    max_lag: float = DEFAULT_MAX_LAG


class LadderSink(Protocol):
    """Where the ladder delivers. Called from transcoder threads: must be thread-safe."""

    def planned(self, rungs: Sequence[Rung]) -> None:
        """The rungs this source gets (possibly none), decided once its first GOP is in."""
        ...

    def rung_started(self, rung: Rung, config: VideoConfig) -> None: ...

    def rung_packets(self, rung: Rung, packets: list[TimedPacket]) -> None: ...

    def rung_ended(self, rung: Rung, *, shed: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class _Frame:
    frame: av.VideoFrame
    pts: int
    dts: int
    keyframe: bool
    ready: float
    """``time.monotonic()`` from which a real-time encoder would be working on this frame."""


_STOP = object()


class _RungWorker:
    """One rung's thread: its queue, its encoder, and the flag that sheds it."""

    def __init__(
        self,
        stream: str,
        rung: Rung,
        cadence: Cadence,
        preset: str,
        sink: LadderSink,
        report_lag: Callable[[_Frame, float], None],
    ) -> None:
        self.rung = rung
        self._cadence = cadence
        self._preset = preset
        self._sink = sink
        self._report_lag = report_lag
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._shed = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ladder-{stream}-{rung.name}", daemon=True
        )
        self._thread.start()

    def put(self, item: _Frame) -> None:
        self._queue.put(item)

    def stop(self) -> None:
        self._queue.put(_STOP)

    def shed(self) -> None:
        self._shed.set()
        self._queue.put(_STOP)

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        encoder = RungEncoder(
            self.rung,
            gop=self._cadence.gop,
            frame_rate=self._cadence.frame_rate,
            preset=self._preset,
        )
        self._sink.rung_started(self.rung, encoder.config)
        with RUNGS_ENCODING.labels(rendition=self.rung.name).track_inprogress():
            self._encode(encoder)
        self._sink.rung_ended(self.rung, shed=self._shed.is_set())

    def _encode(self, encoder: RungEncoder) -> None:
        while not self._shed.is_set():
            item = self._queue.get()
            if item is _STOP:
                self._deliver(encoder.flush())
                break
            assert isinstance(item, _Frame)
            self._report_lag(item, time.monotonic() - item.ready)
            self._deliver(encoder.encode(item.frame, item.pts, item.dts, item.keyframe))

    def _deliver(self, packets: list[TimedPacket]) -> None:
        if packets and not self._shed.is_set():
            self._sink.rung_packets(self.rung, packets)


class Transcoder:
    """The ladder of one publish session's video. ``put`` on the loop; ``stop`` blocks (join)."""

    def __init__(
        self,
        name: str,
        source: VideoConfig,
        sink: LadderSink,
        options: TranscoderOptions = TranscoderOptions(),
    ) -> None:
        self._name = name
        self._sink = sink
        self._heights = tuple(options.heights)
        self._preset = options.preset
        self._max_lag = options.max_lag
        self._decoder = av.CodecContext.create("h264", "r")
        self._decoder.extradata = source.avcc
        self._decoder.thread_type = "SLICE"
        self._input: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"ladder-{name}", daemon=True)
        self._first_gop: list[TimedPacket] = []
        self._cadence: Cadence | None = None
        self._keyframe_pts: set[int] = set()
        self._source_dts: deque[int] = deque()
        self._last: tuple[int, int] | None = None
        """(pts, dts) of the last frame handed to the rungs."""
        self._clock: tuple[float, int] | None = None
        """(monotonic time, pts) of the first keyframe's arrival: the real-time reference."""
        self._planned = False
        self._judged_from = float("inf")
        """``time.monotonic()`` from which rungs are judged (see :data:`CATCH_UP_GOPS`)."""
        self._lock = threading.Lock()
        self._workers: list[_RungWorker] = []
        """Rungs still being encoded (guarded by ``_lock``); shed ones leave it."""
        self._all_workers: list[_RungWorker] = []
        self._last_shed = float("-inf")
        self.rungs: list[Rung] = []
        self.shed: list[Rung] = []
        """Rungs dropped because the machine could not keep up (a counter for metrics)."""
        self.decode_errors = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, packet: TimedPacket) -> None:
        """A source video packet on the output timeline, in decode order."""
        if self._clock is None and packet.keyframe:
            self._clock = (time.monotonic(), packet.pts)  # the queue hands it to the thread
        self._input.put(packet)

    def stop(self) -> None:
        """Drain everything queued, flush every rung and join all threads."""
        if self._thread.is_alive():
            self._input.put(_STOP)
            self._thread.join()

    # decode thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while (item := self._input.get()) is not _STOP:
            assert isinstance(item, TimedPacket)
            if self._cadence is None:
                self._buffer_first_gop(item)
            else:
                self._decode(item)
        if self._cadence is None and self._first_gop:
            self._open(self._first_gop)
        if self._cadence is not None:
            self._fan_out(self._decoder.decode(None))
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.stop()
        for worker in self._all_workers:
            worker.join()

    def _buffer_first_gop(self, packet: TimedPacket) -> None:
        if packet.keyframe and self._first_gop:
            self._open(self._first_gop)
            self._decode(packet)
        elif packet.keyframe or self._first_gop:
            self._first_gop.append(packet)

    def _open(self, first_gop: list[TimedPacket]) -> None:
        self._cadence = measure_cadence(first_gop)
        self._first_gop = []
        for packet in first_gop:
            self._decode(packet)

    def _decode(self, packet: TimedPacket) -> None:
        if packet.keyframe:
            self._keyframe_pts.add(packet.pts)
        self._source_dts.append(packet.dts)
        av_packet = av.Packet(packet.data)
        av_packet.pts, av_packet.dts = packet.pts, packet.dts
        try:
            frames = self._decoder.decode(av_packet)
        except av.error.InvalidDataError as exc:
            self.decode_errors += 1
            log.warning("ladder.decode_error", stream=self._name, error=str(exc))
            return
        self._fan_out(frames)

    def _fan_out(self, frames: list[av.VideoFrame]) -> None:
        for frame in frames:
            pts = frame.pts
            queued_dts = self._source_dts.popleft() if self._source_dts else pts
            # A frame lost to a decode error leaves its dts behind: min() keeps dts <= pts.
            dts = None if pts is None or queued_dts is None else min(queued_dts, pts)
            if pts is None or dts is None or not self._increases(pts, dts):
                log.warning("ladder.frame_out_of_order", stream=self._name, pts=pts)
                continue
            self._last = (pts, dts)
            keyframe = pts in self._keyframe_pts
            self._keyframe_pts = {k for k in self._keyframe_pts if k > pts}
            if not self._planned:
                self._start_workers(frame)
            item = _Frame(frame, pts, dts, keyframe, self._ready(pts))
            with self._lock:
                workers = list(self._workers)
            for worker in workers:
                worker.put(item)

    def _increases(self, pts: int, dts: int) -> bool:
        return self._last is None or (pts > self._last[0] and dts > self._last[1])

    def _ready(self, pts: int) -> float:
        assert self._clock is not None
        started, first_pts = self._clock
        now = time.monotonic()
        return max(now, started + (pts - first_pts) / VIDEO_TIMESCALE)

    def _start_workers(self, frame: av.VideoFrame) -> None:
        assert self._cadence is not None and frame.pts is not None
        self._planned = True
        gop_seconds = self._cadence.gop / self._cadence.frame_rate
        self._judged_from = time.monotonic() + CATCH_UP_GOPS * gop_seconds
        self.rungs = plan_rungs(frame.width, frame.height, self._cadence.frame_rate, self._heights)
        self._sink.planned(self.rungs)
        with self._lock:
            self._workers = [
                _RungWorker(
                    self._name, rung, self._cadence, self._preset, self._sink, self._report_lag
                )
                for rung in self.rungs
            ]
            self._all_workers = list(self._workers)
        log.info(
            "ladder.started",
            stream=self._name,
            source=f"{frame.width}x{frame.height}",
            gop=self._cadence.gop,
            frame_rate=round(self._cadence.frame_rate, 3),
            rungs=[rung.name for rung in self.rungs],
        )

    # rung threads ----------------------------------------------------------------------------

    def _report_lag(self, frame: _Frame, lag: float) -> None:
        if lag <= self._max_lag or frame.ready <= self._last_shed:
            return
        if time.monotonic() < self._judged_from:
            return
        with self._lock:
            if frame.ready <= self._last_shed or not self._workers:
                return  # another rung shed one for the same backlog
            victim = max(self._workers, key=lambda w: w.rung.pixels)
            self._workers.remove(victim)
            self._last_shed = time.monotonic()
            self.shed.append(victim.rung)
        victim.shed()
        log.warning(
            "ladder.rung_shed",
            stream=self._name,
            rung=victim.rung.name,
            lag=round(lag, 3),
            rungs_left=len(self._workers),
            shed_total=len(self.shed),
        )
