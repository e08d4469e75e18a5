"""A publish session's muxing thread: PyAV work off the event loop, results posted back to it.

One thread per publishing session keeps packets in order without locks and lets libavformat
release the GIL while it writes. The loop side only enqueues; the thread only posts completed
parts back with ``call_soon_threadsafe``. Whoever starts the worker stops it (``stop`` joins).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from packager.cmaf_muxer import CmafMuxer, Part, TimedPacket
from packager.media import AudioConfig, VideoConfig

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """New codec configuration mid-session: finish the current muxer, start a fresh one."""

    video: VideoConfig | None
    audio: AudioConfig | None


@dataclass(frozen=True, slots=True)
class MuxerOutput:
    """What the loop side receives: a new init segment (with its part target) and/or parts."""

    init: bytes | None
    part_target: float | None
    parts: list[Part]
    video_size: tuple[int, int] | None
    frame_rate: float | None


_STOP = object()


class MuxWorker:
    def __init__(
        self,
        name: str,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[MuxerOutput], None],
        *,
        part_target: float,
    ) -> None:
        self._name = name
        self._loop = loop
        self._deliver = deliver
        self._target = part_target
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"mux-{name}", daemon=True)
        self._muxer: CmafMuxer | None = None
        self._config = Reconfigure(None, None)
        self._announced_init: bytes | None = None
        self.failures = 0

    def start(self, video: VideoConfig | None, audio: AudioConfig | None) -> None:
        self._queue.put(Reconfigure(video, audio))
        self._thread.start()

    def reconfigure(self, video: VideoConfig | None, audio: AudioConfig | None) -> None:
        self._queue.put(Reconfigure(video, audio))

    def put(self, packet: TimedPacket) -> None:
        self._queue.put(packet)

    async def stop(self) -> None:
        """Flush the last fragment and wait for the thread; its output is delivered before return."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._finish_muxer()
                return
            try:
                if isinstance(item, Reconfigure):
                    self._finish_muxer()
                    self._config = item
                    self._muxer = self._new_muxer()
                elif self._muxer is not None:
                    assert isinstance(item, TimedPacket)
                    self._emit(self._muxer.write(item))
            except Exception as exc:  # noqa: BLE001 - one bad packet must not end the stream
                self.failures += 1
                log.warning("packager.mux_error", stream=self._name, error=str(exc))
                # Start over at the next keyframe with a fresh muxer (a new init segment).
                self._muxer = self._new_muxer()

    def _new_muxer(self) -> CmafMuxer | None:
        config = self._config
        if config.video is None and config.audio is None:
            return None
        return CmafMuxer(config.video, config.audio, part_target=self._target)

    def _finish_muxer(self) -> None:
        if self._muxer is None:
            return
        try:
            self._emit(self._muxer.close())
        except Exception as exc:  # noqa: BLE001
            log.warning("packager.mux_close_error", stream=self._name, error=str(exc))
        self._muxer = None

    def _emit(self, parts: list[Part]) -> None:
        muxer = self._muxer
        assert muxer is not None
        init = muxer.init_segment
        new_init = init is not None and init is not self._announced_init
        if not parts and not new_init:
            return
        if new_init:
            self._announced_init = init
        output = MuxerOutput(
            init if new_init else None,
            muxer.part_target if new_init else None,
            parts,
            muxer.video_size,
            muxer.frame_rate,
        )
        self._loop.call_soon_threadsafe(self._deliver, output)
