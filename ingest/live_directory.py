"""Which streams are being published anywhere in the cluster, for nodes that ingest nothing.

An API node answers "live now", search and the watch page's first paint without a packager of
its own. The origins already hold a Redis lease per publisher (:mod:`ingest.publish_lease`),
renewed while the publisher lives and lapsing when its node dies, so the leases *are* the
directory: no second record to keep in step. The API reads names synchronously, so a task
refreshes a snapshot every ``interval`` seconds; a listing is at most that stale.

A stream in its reconnect grace period has no lease (its publisher has gone), so it drops out
of the cluster's list until the publisher is back, where a single node would still list it.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as redis
import structlog

from ingest.publish_lease import LEASE_PREFIX

log = structlog.get_logger(__name__)


class LiveDirectory:
    def __init__(self, client: redis.Redis, *, interval: float = 1.0) -> None:
        self._client = client
        self._interval = interval
        self._names: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read once before answering anything, then keep reading."""
        await self._refresh()
        self._task = asyncio.get_running_loop().create_task(self._keep_reading())

    def names(self) -> list[str]:
        return sorted(self._names)

    def is_live(self, name: str) -> bool:
        return name in self._names

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh(self) -> None:
        keys = [key async for key in self._client.scan_iter(match=LEASE_PREFIX + "*", count=1000)]
        self._names = frozenset(
            (key.decode() if isinstance(key, bytes) else key).removeprefix(LEASE_PREFIX)
            for key in keys
        )

    async def _keep_reading(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._refresh()
            except redis.RedisError as exc:  # keep the last snapshot; /readyz reports Redis
                log.warning("ingest.live_directory_failed", error=str(exc))
