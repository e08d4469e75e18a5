"""An edge node (``tributary serve edge``): the caching proxy, its origins and their health
checks, the optional disk tier and storage fallback, wired together and torn down in order.

An edge needs no database and no Redis: it knows its origins from the settings and checks
playback tokens with the playback key derived from the cluster's ``secret_key``.
"""

from __future__ import annotations

import aiohttp
import structlog
from aiohttp import web

from catalog.derived_keys import PLAYBACK_TOKENS, derive_key
from edge.app import create_edge_app
from edge.disk_cache import DiskTier
from edge.health import HealthChecker
from edge.memory_cache import MemoryCache
from edge.proxy import EdgeProxy
from edge.storage_fallback import StorageFallback
from edge.upstream import OriginHealth, OriginMap, Origins
from tributary.http_site import serve
from tributary.secret_key import load_secret_key
from tributary.settings import Settings
from vod.storage import Storage, open_storage

log = structlog.get_logger(__name__)


class EdgeNode:
    def __init__(self, settings: Settings) -> None:
        if not settings.edge.origins:
            raise ValueError("an edge needs origins: set edge.origins (TRIBUTARY_EDGE__ORIGINS)")
        self.settings = settings
        self.proxy: EdgeProxy | None = None
        self.port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._health: HealthChecker | None = None
        self._disk: DiskTier | None = None
        self._storage: Storage | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> int:
        s, e = self.settings, self.settings.edge
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=e.upstream_connections),
        )
        s.data_dir.mkdir(parents=True, exist_ok=True)  # where a generated secret_key is kept
        health = OriginHealth(e.retry_after)
        timeout = aiohttp.ClientTimeout(total=e.upstream_timeout, sock_connect=e.connect_timeout)

        def origins(urls: list[str]) -> Origins:
            assert self._session is not None
            return Origins(urls, self._session, health, timeout=timeout, max_bytes=e.max_object_bytes)

        origin_map = OriginMap(
            origins(e.origins), {name: origins(urls) for name, urls in e.stream_origins.items()}
        )
        every_url = {url for o in origin_map.all() for url in o.urls}
        self._health = HealthChecker(
            every_url, self._session, health, interval=e.health_interval, timeout=e.connect_timeout * 2
        )
        await self._health.check_all()  # start with a true picture, not "all up"
        self._health.start()
        if e.disk_cache_dir is not None:
            self._disk = DiskTier(e.disk_cache_dir, e.disk_cache_bytes)
        fallback = None
        if e.storage_fallback:
            self._storage = await open_storage(s.storage, s.data_dir)
            fallback = StorageFallback(self._storage, max_bytes=e.max_object_bytes)
        self.proxy = EdgeProxy(
            origin_map,
            MemoryCache(e.cache_bytes),
            derive_key(load_secret_key(s), PLAYBACK_TOKENS),
            disk=self._disk,
            storage_fallback=fallback,
        )

        async def origin_reachable() -> str | None:
            up = [url for url in every_url if health.is_up(url)]
            return None if up else "no origin is healthy"

        app = create_edge_app(self.proxy, (origin_reachable,))
        self._runner, self.port = await serve(
            app, e.host, e.port, backlog=4096, handler_cancellation=True
        )
        log.info("edge.started", http_port=self.port, origins=sorted(every_url))
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._health is not None:
            await self._health.close()
            self._health = None
        if self._disk is not None:
            await self._disk.close()
            self._disk = None
        if self._storage is not None:
            await self._storage.close()
            self._storage = None
        if self._session is not None:
            await self._session.close()
            self._session = None
