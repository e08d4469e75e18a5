"""Health checks of an edge's origins: each is asked for ``/healthz`` every ``interval``, so a
dead origin is passed over before a viewer's request finds out, and a recovered one is used
again without waiting out its ``retry_after``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import aiohttp
import structlog

from edge.upstream import OriginHealth

log = structlog.get_logger(__name__)


class HealthChecker:
    def __init__(
        self,
        urls: Iterable[str],
        session: aiohttp.ClientSession,
        health: OriginHealth,
        *,
        interval: float,
        timeout: float,
    ) -> None:
        self._urls = sorted(set(urls))
        self._session = session
        self._health = health
        self._interval = interval
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def check_all(self) -> None:
        await asyncio.gather(*(self._check(url) for url in self._urls))

    async def _run(self) -> None:
        while True:
            await self.check_all()
            await asyncio.sleep(self._interval)

    async def _check(self, url: str) -> None:
        try:
            async with self._session.get(f"{url}/healthz", timeout=self._timeout) as response:
                healthy = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            healthy = False
        was_up = self._health.is_up(url)
        if healthy:
            self._health.recovered(url)
        else:
            self._health.failed(url)
        if healthy != was_up:
            log.info("edge.origin_health", origin=url, healthy=healthy)
