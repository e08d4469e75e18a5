"""Channels: one per creator, found by handle; the owner edits title and description."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

HANDLE_PATTERN = r"^[A-Za-z0-9_-]{3,30}$"
_COLUMNS = "id, owner_id, handle, title, description, subscriber_count, created_at"


class HandleTaken(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    owner_id: int
    handle: str
    title: str
    description: str
    subscriber_count: int
    created_at: datetime


async def insert_channel(
    conn: asyncpg.Connection, owner_id: int, handle: str, title: str
) -> Channel:
    """Create a channel on ``conn`` (inside the caller's transaction, e.g. registration)."""
    try:
        row = await conn.fetchrow(
            f"INSERT INTO channels (owner_id, handle, title) VALUES ($1, $2, $3) RETURNING {_COLUMNS}",
            owner_id,
            handle,
            title,
        )
    except asyncpg.UniqueViolationError:
        raise HandleTaken(f"the channel handle {handle!r} is taken") from None
    return Channel(**row)


class Channels:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def by_handle(self, handle: str) -> Channel | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM channels WHERE handle = $1", handle)
        return Channel(**row) if row else None

    async def by_id(self, channel_id: int) -> Channel | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM channels WHERE id = $1", channel_id)
        return Channel(**row) if row else None

    async def by_owner(self, user_id: int) -> Channel | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM channels WHERE owner_id = $1", user_id)
        return Channel(**row) if row else None

    async def update(
        self, channel_id: int, *, title: str | None = None, description: str | None = None
    ) -> Channel | None:
        """Change the given fields (None leaves a field as it is); None if the channel is gone."""
        row = await self._pool.fetchrow(
            f"""UPDATE channels SET title = coalesce($2, title),
                                    description = coalesce($3, description)
                WHERE id = $1 RETURNING {_COLUMNS}""",
            channel_id,
            title,
            description,
        )
        return Channel(**row) if row else None
