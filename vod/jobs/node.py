"""A worker node (``tributary serve worker``): runs queued jobs, nothing else.

It opens what job functions need (the catalog's pool, storage, a Redis client) and serves
``/healthz``, ``/readyz`` (database and Redis answer) and ``/metrics`` on ``jobs.http_port``
for the orchestrator and Prometheus. Unlike the origin it never starts embedded servers: a
worker is only useful against the PostgreSQL and Redis the rest of the cluster uses.
"""

from __future__ import annotations

from functools import partial
import structlog
from aiohttp import web

from catalog.db import open_pool
from tributary.cluster_node import ClusterNode
from tributary.health_endpoints import add_health_routes, database_and_redis
from tributary.http_site import serve
from tributary.metrics_endpoint import add_metrics_route
from tributary.redis_client import open_redis
from vod.jobs.tasks import JobDeps, registry
from vod.jobs.worker import Worker
from vod.storage import open_storage
from webhooks.dispatcher import Dispatcher

log = structlog.get_logger(__name__)


class WorkerNode(ClusterNode):
    role = "worker"

    async def _start(self) -> int:
        """Each resource is registered for closing as soon as it is open, so stopping closes
        them in reverse: HTTP, webhooks, jobs (they use everything else), storage, Redis, the
        pool."""
        s = self.settings
        assert s.database_url is not None and s.redis_url is not None
        tasks = registry(s.jobs.task_modules)  # first: a bad module name fails before any I/O
        pool = await open_pool(s.database_url)
        self.resources.push_async_callback(pool.close)
        client = open_redis(s.redis_url)
        self.resources.push_async_callback(partial(client.aclose, close_connection_pool=True))
        await client.ping()
        storage = await open_storage(s.storage, s.data_dir)
        self.resources.push_async_callback(storage.close)
        worker = Worker(s.redis_url, s.jobs, tasks, JobDeps(s, pool, storage, client))
        await worker.start()
        self.resources.push_async_callback(worker.stop)
        site_url = s.public.site_url or f"http://{s.public_host}:{s.http.port}"
        webhooks = Dispatcher(s.webhooks, pool, site_url=lambda: site_url)
        await webhooks.start()
        self.resources.push_async_callback(webhooks.stop)

        app = web.Application()
        add_health_routes(app, database_and_redis(pool, client))
        add_metrics_route(app)
        runner, self.port = await serve(app, s.jobs.http_host, s.jobs.http_port)
        self.resources.push_async_callback(runner.cleanup)
        log.info("worker.started", http_port=self.port, tasks=sorted(tasks),
                 concurrency=s.jobs.concurrency, live_concurrency=s.jobs.live_concurrency)
        return self.port

    async def stop(self) -> None:
        await super().stop()
        log.info("worker.stopped")
