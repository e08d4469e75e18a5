"""A chat node (``tributary serve chat``): Socket.IO at ``/socket.io``, nothing else.

It needs the cluster's PostgreSQL (rooms, accounts, video comments) and Redis (the manager that
joins chat nodes, history, moderation state), and the cluster's secret key to check access
tokens. Any number of chat nodes can sit behind a load balancer; one client's connection
stays on one node (Socket.IO's long-polling needs sticky sessions, WebSocket does not).
"""

from __future__ import annotations

import socket
import uuid

import asyncpg
import redis.asyncio as redis
import structlog
from aiohttp import web

from catalog.access_tokens import AccessTokens
from catalog.db import open_pool
from chat.server import ChatServer
from tributary.health_endpoints import add_health_routes, database_and_redis
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
        self._pool: asyncpg.Pool | None = None
        self._redis: redis.Redis | None = None
        self._chat: ChatServer | None = None
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
        self._pool = await open_pool(s.database_url)
        self._redis = redis.from_url(s.redis_url, socket_timeout=5, socket_connect_timeout=5)
        await self._redis.ping()
        self._chat = ChatServer(
            s.chat, redis_url=s.redis_url, redis_client=self._redis, pool=self._pool,
            access_tokens=AccessTokens.of_secret(load_secret_key(s), s.api.access_token_ttl),
            node_id=self.node_id,
        )
        app = web.Application()
        self._chat.attach(app)
        add_health_routes(app, database_and_redis(self._pool, self._redis))
        add_metrics_route(app)
        await self._chat.start()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.create_server((s.chat.host, s.chat.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        log.info("chat.started", http_port=self.port, node=self.node_id)
        return self.port

    async def stop(self) -> None:
        """Connections first (their disconnects update presence), then HTTP, Redis, the pool."""
        if self._chat is not None:
            await self._chat.stop()
            self._chat = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        log.info("chat.stopped", node=self.node_id)
