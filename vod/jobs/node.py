"""A worker node (``tributary serve worker``): runs queued jobs, nothing else.

It opens what job functions need (the catalog's pool, storage, a Redis client) and serves
``/healthz``, ``/readyz`` (database and Redis answer) and ``/metrics`` on ``jobs.http_port``
for the orchestrator and Prometheus. Unlike the origin it never starts embedded servers: a
worker is only useful against the PostgreSQL and Redis the rest of the cluster uses.
"""

from __future__ import annotations

import socket

import asyncpg
import redis.asyncio as redis
import structlog
from aiohttp import web

from catalog.db import open_pool
from tributary.health_endpoints import add_health_routes, database_and_redis
from tributary.metrics_endpoint import add_metrics_route
from tributary.settings import Settings
from vod.jobs.tasks import JobDeps, registry
from vod.jobs.worker import Worker
from vod.storage import Storage, open_storage

log = structlog.get_logger(__name__)


class WorkerNode:
    def __init__(self, settings: Settings) -> None:
        if settings.database_url is None or settings.redis_url is None:
            raise ValueError("a worker needs DATABASE_URL and REDIS_URL (the cluster's servers)")
        self.settings = settings
        self.port: int | None = None
        self._pool: asyncpg.Pool | None = None
        self._redis: redis.Redis | None = None
        self._storage: Storage | None = None
        self._worker: Worker | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> int:
        s = self.settings
        assert s.database_url is not None and s.redis_url is not None
        tasks = registry(s.jobs.task_modules)  # first: a bad module name fails before any I/O
        self._pool = await open_pool(s.database_url)
        self._redis = redis.from_url(s.redis_url)
        await self._redis.ping()
        self._storage = await open_storage(s.storage, s.data_dir)
        self._worker = Worker(
            s.redis_url, s.jobs, tasks, JobDeps(s, self._pool, self._storage, self._redis)
        )
        await self._worker.start()

        app = web.Application()
        add_health_routes(app, database_and_redis(self._pool, self._redis))
        add_metrics_route(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.create_server((s.jobs.http_host, s.jobs.http_port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        log.info("worker.started", http_port=self.port, tasks=sorted(tasks),
                 concurrency=s.jobs.concurrency, live_concurrency=s.jobs.live_concurrency)
        return self.port

    async def stop(self) -> None:
        """Jobs first (they use everything else), then HTTP, storage, Redis, the pool."""
        if self._worker is not None:
            await self._worker.stop()
            self._worker = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._storage is not None:
            await self._storage.close()
            self._storage = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        log.info("worker.stopped")
