"""A chat node (``tributary serve chat``): Socket.IO at ``/socket.io``, nothing else.

It needs the cluster's PostgreSQL (rooms, accounts, video comments) and Redis (the manager that
joins chat nodes, history, moderation state), and the cluster's secret key to check access
tokens. Any number of chat nodes can sit behind a load balancer; one client's connection
stays on one node (Socket.IO's long-polling needs sticky sessions, WebSocket does not).
"""

from __future__ import annotations

import socket
import uuid
from functools import partial

import structlog
from aiohttp import web

from catalog.access_tokens import AccessTokens
from catalog.db import open_pool
from chat.server import ChatServer
from tributary.cluster_node import ClusterNode
from tributary.health_endpoints import add_health_routes, database_and_redis
from tributary.http_site import serve
from tributary.metrics_endpoint import add_metrics_route
from tributary.redis_client import open_redis
from tributary.secret_key import load_secret_key
from tributary.settings import Settings

log = structlog.get_logger(__name__)


class ChatNode(ClusterNode):
    role = "chat node"

    def __init__(self, settings: Settings, node_id: str | None = None) -> None:
        super().__init__(settings)
        self.node_id = node_id or f"chat-{socket.gethostname()}-{uuid.uuid4().hex[:8]}"

    async def _start(self) -> int:
        """Each resource is registered for closing as soon as it is open, so stopping closes
        them in reverse: connections (their disconnects update presence), HTTP, Redis, the pool."""
        s = self.settings
        assert s.database_url is not None and s.redis_url is not None
        pool = await open_pool(s.database_url)
        self.resources.push_async_callback(pool.close)
        client = open_redis(s.redis_url)
        self.resources.push_async_callback(partial(client.aclose, close_connection_pool=True))
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
        self.resources.push_async_callback(runner.cleanup)
        await chat.start()
        self.resources.push_async_callback(chat.stop)
        log.info("chat.started", http_port=self.port, node=self.node_id)
        return self.port

    async def stop(self) -> None:
        await super().stop()
        log.info("chat.stopped", node=self.node_id)
