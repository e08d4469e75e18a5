"""A live room's pinned message, kept in Redis so every node shows the same one (a video
room's pin is the catalog's pinned comment instead)."""

from __future__ import annotations

import redis.asyncio as redis

from chat.messages import ChatMessage

KEY_PREFIX = "tributary:chat:pinned:"


class LivePins:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def get(self, room: str) -> ChatMessage | None:
        raw = await self._redis.get(KEY_PREFIX + room)
        if raw is None:
            return None
        message_id, time_ms, stored = raw.decode().split("\n", 2)
        return ChatMessage.from_stored(message_id, int(time_ms), stored)

    async def pin(self, message: ChatMessage) -> None:
        await self._redis.set(KEY_PREFIX + message.room, f"{message.id}\n{message.time}\n{message.stored()}")

    async def unpin(self, room: str) -> None:
        await self._redis.delete(KEY_PREFIX + room)
