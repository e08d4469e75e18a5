"""One recording's writes to storage: in order, by one task, in bounded memory.

The packager hands media over on the event loop and must never wait for a disk or a network,
so writes are queued. If storage cannot keep up, the queue would grow with the stream; past
``limit`` bytes a write is dropped instead (the recording then has a gap, which the VOD
playlists turn into a discontinuity) and counted, so the VOD's logs and metadata say so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from vod.storage import Storage

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Write:
    key: str
    data: bytes
    on_stored: Callable[[], None]


class RecordingWriter:
    def __init__(self, storage: Storage, stream: str, limit: int) -> None:
        self._storage = storage
        self._stream = stream
        self._limit = limit
        self._queue: asyncio.Queue[_Write | None] = asyncio.Queue()
        self._pending = 0
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.dropped = 0
        """Writes refused because ``limit`` bytes were already waiting."""
        self.failed = 0
        """Writes storage refused (each is logged the first time only: storage that is down
        would otherwise log every segment)."""

    def submit(self, key: str, data: bytes, on_stored: Callable[[], None]) -> None:
        """Queue a write; ``on_stored`` runs (on the loop) once storage has the bytes."""
        if self._closed:  # a packager bug, but never one that should break the live side
            log.warning("recording.write_after_finish", stream=self._stream, key=key)
            return
        if self._pending + len(data) > self._limit:
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "recording.storage_behind", stream=self._stream, key=key, queued=self._pending
                )
            return
        self._pending += len(data)
        self._queue.put_nowait(_Write(key, data, on_stored))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Accept nothing more and wait until everything queued is written (or has failed)."""
        self._closed = True
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    async def _run(self) -> None:
        while (write := await self._queue.get()) is not None:
            try:
                await self._storage.put(write.key, write.data)
            except Exception as exc:  # whatever storage raises, the recording goes on
                self.failed += 1
                if self.failed == 1:
                    log.warning(
                        "recording.write_failed", stream=self._stream, key=write.key, error=str(exc)
                    )
            else:
                write.on_stored()
            finally:
                self._pending -= len(write.data)
