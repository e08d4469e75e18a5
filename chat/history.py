"""Recent live messages per room, in a Redis stream shared by every chat node.

A Redis stream gives what chat history needs in one structure: ids that are unique across
nodes, ordered, and stamped with Redis's clock (which becomes the message's server time);
trimming by count (``MAXLEN``) and by age (``MINID``); and deleting one entry (a moderator's
delete). The key expires with the age limit, so an idle room leaves nothing behind.
"""

from __future__ import annotations

import time

import redis.asyncio as redis

from chat.messages import ChatMessage

KEY_PREFIX = "tributary:chat:history:"

def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(stream_id: str) -> int:
    return int(stream_id.split("-", 1)[0])


class LiveHistory:
    def __init__(self, client: redis.Redis, *, keep: int, max_age: float) -> None:
        self._redis = client
        self._keep = keep
        self._max_age_ms = int(max_age * 1000)

    @staticmethod
    def _key(room: str) -> str:
        return KEY_PREFIX + room

    async def append(self, room: str, unstamped: ChatMessage) -> ChatMessage:
        """Store a message; it comes back with the id and time Redis gave it."""
        key = self._key(room)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {"m": unstamped.stored()}, maxlen=max(self._keep, 1), approximate=False)
            pipe.pexpire(key, self._max_age_ms)
            stream_id, _ = await pipe.execute()
        text_id = _text(stream_id)
        stamped = ChatMessage.from_stored(text_id, _ms(text_id), unstamped.stored())
        # By age: entries older than the limit go at the next write (and are never read).
        await self._redis.xtrim(key, minid=f"{stamped.time - self._max_age_ms}-0")
        return stamped

    async def recent(self, room: str) -> list[ChatMessage]:
        """The last messages of the room, oldest first, none older than the age limit."""
        if self._keep == 0:
            return []
        oldest = f"{int(time.time() * 1000) - self._max_age_ms}-0"
        entries = await self._redis.xrevrange(self._key(room), "+", oldest, count=self._keep)
        return [
            ChatMessage.from_stored(_text(entry_id), _ms(_text(entry_id)), fields[b"m"])
            for entry_id, fields in reversed(entries)
        ]

    async def get(self, room: str, message_id: str) -> ChatMessage | None:
        entries = await self._redis.xrange(self._key(room), message_id, message_id)
        if not entries:
            return None
        entry_id, fields = entries[0]
        return ChatMessage.from_stored(_text(entry_id), _ms(_text(entry_id)), fields[b"m"])

    async def delete(self, room: str, message_id: str) -> bool:
        return bool(await self._redis.xdel(self._key(room), message_id))

    async def delete_by(self, room: str, user_id: int) -> list[str]:
        """Remove a user's messages (a ban or a time-out clears them); their ids."""
        ids = [message.id for message in await self.recent(room) if message.author.id == user_id]
        if ids:
            await self._redis.xdel(self._key(room), *ids)
        return ids
