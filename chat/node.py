"""A chat node (``tributary serve chat``): Socket.IO at ``/socket.io``, nothing else.

It needs the cluster's PostgreSQL (rooms, accounts, video comments) and Redis (the manager that
joins chat nodes, history, moderation state), and the cluster's secret key to check access
tokens. Any number of chat nodes can sit behind a load balancer; one client's connection
stays on one node (Socket.IO's long-polling needs sticky sessions, WebSocket does not).
"""

from __future__ import annotations

import socket
import uuid
from contextlib import AsyncExitStack

import redis.asyncio as redis
import structlog
from aiohttp import web

from catalog.access_tokens import AccessTokens
from catalog.db import open_pool
from chat.server import ChatServer
from tributary.health_endpoints import add_health_routes, database_and_redis
from tributary.http_site import serve
from tributary.metrics_endpoint import add_metrics_route
from tributary.secret_key import load_secret_key
from tributary.settings import Settings

log = structlog.get_logger(__name__)


class ChatNode:
    def __init__(self, settings: Settings, node_id: str | None = None) -> None:
        if settings.database_url is None or settings.redis_url is None:
            raise ValueError("a chat node needs DATABASE_URL and REDIS_URL (the cluster's servers)")
        self.settings = settings
        self.node_id = node_id or f"chat-{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.port: int | None = None
        self._resources = AsyncExitStack()

    async def start(self) -> int:
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> int:
        """Each resource is registered for closing as soon as it is open, so stopping closes
        them in reverse: connections (their disconnects update presence), HTTP, Redis, the pool."""
        s = self.settings
        assert s.database_url is not None and s.redis_url is not None
        pool = await open_pool(s.database_url)
        self._resources.push_async_callback(pool.close)
        client = redis.from_url(s.redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._resources.push_async_callback(client.aclose)
        await client.ping()
        chat = ChatServer(
            s.chat, redis_url=s.redis_url, redis_client=client, pool=pool,
            access_tokens=AccessTokens.of_secret(load_secret_key(s), s.api.access_token_ttl),
            node_id=self.node_id,
        )
        app = web.Application()
        chat.attach(app)
        add_health_routes(app, database_and_redis(pool, client))
        add_metrics_route(app)
        runner, self.port = await serve(app, s.chat.host, s.chat.port)
        self._resources.push_async_callback(runner.cleanup)
        await chat.start()
        self._resources.push_async_callback(chat.stop)
        log.info("chat.started", http_port=self.port, node=self.node_id)
        return self.port

    async def stop(self) -> None:
        await self._resources.aclose()
        log.info("chat.stopped", node=self.node_id)
