"""A room's rules: message rate, slow mode, subscribers-only and the longest message.

Stored per room in a Redis hash that holds only what moderators changed, so a room nobody
touched follows the node's defaults (``[chat]`` settings) and a changed default reaches it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import limits
import redis.asyncio as redis

from tributary.settings import ChatSettings

KEY_PREFIX = "tributary:chat:rules:"


@dataclass(frozen=True, slots=True)
class RoomRules:
    rate: str  # a `limits` string: "3 per 2 seconds"
    slow_mode: int  # seconds between one user's messages; 0: off
    subscribers_only: bool
    max_length: int

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def rate_limit(self) -> limits.RateLimitItem:
        return limits.parse(self.rate)


def _decode(raw: dict[bytes, bytes]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        text = value.decode()
        key = name.decode()
        if key == "rate":
            fields[key] = text
        elif key == "subscribers_only":
            fields[key] = text == "1"
        elif key in ("slow_mode", "max_length"):
            fields[key] = int(text)
    return fields


class RoomRuleStore:
    def __init__(self, client: redis.Redis, settings: ChatSettings) -> None:
        self._redis = client
        self.defaults = RoomRules(
            rate=settings.rate, slow_mode=0, subscribers_only=False, max_length=settings.max_length
        )

    async def get(self, room: str) -> RoomRules:
        return replace(self.defaults, **_decode(await self._redis.hgetall(KEY_PREFIX + room)))

    async def change(self, room: str, **changes: Any) -> RoomRules:
        """Apply validated changes; the rules as they now stand."""
        encoded = {
            name: ("1" if value else "0") if isinstance(value, bool) else str(value)
            for name, value in changes.items()
        }
        if encoded:
            await self._redis.hset(KEY_PREFIX + room, mapping=encoded)
        return await self.get(room)
