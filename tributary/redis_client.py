"""The Redis client every role uses for its own commands.

A blocking pool: under load, commands wait (up to ``timeout``) for a free connection instead of
failing with "Too many connections" (which let publish leases lapse in the capacity benchmark
and left chat joins unanswered in a join storm). Socket timeouts keep a dead server from
hanging a request forever.
"""

from __future__ import annotations

import redis.asyncio as redis

MAX_CONNECTIONS = 64


def open_redis(url: str) -> redis.Redis:
    """A client of its own pool; close it with ``aclose(close_connection_pool=True)``."""
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=10, socket_timeout=5, socket_connect_timeout=5
    )
    return redis.Redis(connection_pool=pool)
