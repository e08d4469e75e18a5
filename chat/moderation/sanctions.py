"""Bans, time-outs, channel moderators and banned words, per moderation scope (a channel).

A ban is a set member with no expiry: it survives reconnects, node restarts and new streams
of the channel until somebody lifts it. A time-out is a key that expires by itself. The
standing of a user (banned, timed out until, moderator) is read in one round trip on every
send, so a sanction set on any node holds on every node from the next message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as redis

PREFIX = "tributary:chat:"


@dataclass(frozen=True, slots=True)
class Standing:
    banned: bool
    timed_out_until: int | None  # ms since the epoch
    moderator: bool  # appointed by the channel owner


class Sanctions:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def standing(self, scope: str, user_id: int) -> Standing:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sismember(f"{PREFIX}bans:{scope}", user_id)
            pipe.pttl(f"{PREFIX}timeout:{scope}:{user_id}")
            pipe.sismember(f"{PREFIX}mods:{scope}", user_id)
            banned, ttl_ms, moderator = await pipe.execute()
        until = int(time.time() * 1000) + ttl_ms if ttl_ms > 0 else None
        return Standing(bool(banned), until, bool(moderator))

    async def ban(self, scope: str, user_id: int) -> None:
        await self._redis.sadd(f"{PREFIX}bans:{scope}", user_id)

    async def unban(self, scope: str, user_id: int) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(f"{PREFIX}bans:{scope}", user_id)
            pipe.delete(f"{PREFIX}timeout:{scope}:{user_id}")
            removed, cleared = await pipe.execute()
        return bool(removed or cleared)

    async def time_out(self, scope: str, user_id: int, seconds: int) -> int:
        """Until when (ms since the epoch) the user may not send."""
        await self._redis.set(f"{PREFIX}timeout:{scope}:{user_id}", 1, ex=seconds)
        return int((time.time() + seconds) * 1000)

    async def set_moderator(self, scope: str, user_id: int, moderator: bool) -> None:
        key = f"{PREFIX}mods:{scope}"
        await (self._redis.sadd(key, user_id) if moderator else self._redis.srem(key, user_id))

    async def banned_words(self, scope: str) -> frozenset[str]:
        return frozenset(word.decode() for word in await self._redis.smembers(f"{PREFIX}words:{scope}"))

    async def set_banned_words(self, scope: str, words: frozenset[str]) -> None:
        key = f"{PREFIX}words:{scope}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if words:
                pipe.sadd(key, *words)
            await pipe.execute()
