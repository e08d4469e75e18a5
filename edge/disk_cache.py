"""The optional on-disk tier for VOD media: segments and thumbnails outlive the memory budget
and edge restarts, so a long-tail catalogue is not refetched from the origin every time.

Backed by ``diskcache`` (SQLite index, files on disk, least-recently-used eviction within a
byte limit). Its calls are synchronous and touch the disk, so they run on a worker thread;
writes are queued and never delay the viewer who caused them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import diskcache
import structlog

from edge.edge_object import EdgeObject
from edge.metrics import CACHE_BYTES, CACHE_ENTRIES

log = structlog.get_logger(__name__)

MAX_PENDING_WRITES = 64
"""Writes waiting for the disk beyond this are skipped (the object stays in memory anyway)."""


class DiskTier:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._cache = diskcache.Cache(
            str(directory), size_limit=max_bytes, eviction_policy="least-recently-used"
        )
        self._writes: set[asyncio.Task[None]] = set()

    async def get(self, key: str, now: float) -> EdgeObject | None:
        stored = await asyncio.to_thread(self._cache.get, key)
        if stored is None:
            return None
        status, headers, body, etag, restricted, expires_at = stored
        remaining = expires_at - time.time()
        if remaining <= 0:
            return None
        return EdgeObject(
            status, headers, body, etag, restricted, True, now + remaining, now + remaining
        )

    def put(self, key: str, obj: EdgeObject, now: float) -> None:
        """Queue a write of an immutable object; returns at once."""
        if len(self._writes) >= MAX_PENDING_WRITES:
            log.debug("edge.disk_write_skipped", key=key)
            return
        expires_at = time.time() + (obj.fresh_until - now)
        record = (obj.status, obj.headers, obj.body, obj.etag, obj.restricted, expires_at)
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._write, key, record))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _write(self, key: str, record: tuple[object, ...]) -> None:
        self._cache.set(key, record)
        CACHE_BYTES.labels("disk").set(self._cache.volume())
        CACHE_ENTRIES.labels("disk").set(len(self._cache))

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        await asyncio.to_thread(self._cache.close)
