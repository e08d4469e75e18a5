"""Rate limits in Redis, shared by every node: the ``limits`` library's moving window.

``limits`` keeps the counters (a moving window: no burst of twice the limit at a window edge)
and is used with the node's own Redis connection pool, so the embedded Redis on a Unix socket
works as well as a cluster's. Over the limit the API answers 429 with ``Retry-After``.

Two limits exist: ``auth`` (log-in and register attempts, per client address and per account)
and ``write`` (every POST/PUT/PATCH/DELETE, per user or, anonymous, per client address; applied
by :func:`write_limit_middleware` so new endpoints are covered without doing anything).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

import redis.asyncio as redis
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from catalog.api.errors import ApiError

KEY_PREFIX = "tributary:ratelimit"
_WRITE_METHODS = frozenset({hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH, hdrs.METH_DELETE})

Identify = Callable[[web.Request], str]
"""A request → who to count it against (a user, or else a client address)."""


def client_address(request: web.Request) -> str:
    """The peer address. Behind a reverse proxy this is the proxy: trusting X-Forwarded-For
    needs a configured list of proxies, which arrives with the edge work."""
    return request.remote or "unknown"


def account_key(identifier: str) -> str:
    """An account identifier (e-mail) as a limit key: hashed, so Redis holds no addresses."""
    return hashlib.sha256(identifier.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]


class RateLimits:
    def __init__(self, redis_client: redis.Redis, *, auth: str, write: str) -> None:
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=redis_client.connection_pool,  # type: ignore[arg-type]  # documented
            key_prefix=KEY_PREFIX,
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self.auth = parse(auth)
        self.write = parse(write)

    async def hit(self, limit: RateLimitItem, *identifiers: str) -> None:
        """Count one request against ``limit`` for ``identifiers``; 429 if over it."""
        if await self._limiter.hit(limit, *identifiers):
            return
        stats = await self._limiter.get_window_stats(limit, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests; limit {limit}, retry in {retry_after} s",
            headers={hdrs.RETRY_AFTER: str(retry_after)},
        )


def write_limit_middleware(rate_limits: RateLimits, identify: Identify) -> Middleware:
    """Counts every write against the ``write`` limit of its caller."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in _WRITE_METHODS:
            await rate_limits.hit(rate_limits.write, "write", identify(request))
        return await handler(request)

    return middleware
