"""How often one user may send in a room: the room's rate (a moving window, ``limits`` on
Redis) and slow mode (one message per N seconds). Both are counted in Redis, so a user with
tabs open on two chat nodes has one budget."""

from __future__ import annotations

import math
import time

import limits
import redis.asyncio as redis
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

KEY_PREFIX = "tributary:chat:"


class SendLimits:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=client.connection_pool,  # type: ignore[arg-type]  # documented
            key_prefix=KEY_PREFIX + "rate",
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def rate_wait(self, rate: limits.RateLimitItem, room: str, user_id: int) -> int:
        """Count one message; 0 if it may go, else the seconds until it could."""
        if await self._limiter.hit(rate, room, str(user_id)):
            return 0
        stats = await self._limiter.get_window_stats(rate, room, str(user_id))
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def slow_mode_wait(self, seconds: int, room: str, user_id: int) -> int:
        """Take this user's slow-mode turn in the room; 0 if it was free, else seconds left."""
        key = f"{KEY_PREFIX}slow:{room}:{user_id}"
        if await self._redis.set(key, 1, ex=seconds, nx=True):
            return 0
        return max(1, math.ceil(await self._redis.pttl(key) / 1000))
