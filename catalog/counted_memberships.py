"""A row per (thing, user) with a counter on the thing: a comment's likes, a channel's
subscribers.

Setting membership locks the counted row first, then adds or removes the membership row, and
moves the counter only if a row really was added or removed. So repeating a request changes
nothing, concurrent requests for one thing take turns on its row (the counter stays exact), and
a thing deleted meanwhile is noticed up front instead of as a foreign-key error.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class CountedMembership:
    table: str  # "comment_likes"
    thing_column: str  # its column naming the thing: "comment_id"
    things: str  # the things' table: "comments"
    counter: str  # the things' counter column: "like_count"
    open_when: str = "true"  # a condition on the thing for changes to be allowed

    async def set(self, pool: asyncpg.Pool, thing_id: int, user_id: int, member: bool) -> int | None:
        """Make ``user_id`` a member or not; the thing's count, or None if it is gone (or not
        open to changes)."""
        change = (
            f"INSERT INTO {self.table} ({self.thing_column}, user_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING RETURNING true"
            if member
            else f"DELETE FROM {self.table} WHERE {self.thing_column} = $1 AND user_id = $2 RETURNING true"
        )
        async with pool.acquire() as conn, conn.transaction():
            count = await conn.fetchval(
                f"SELECT {self.counter} FROM {self.things} WHERE id = $1 AND {self.open_when} "
                "FOR NO KEY UPDATE",
                thing_id,
            )
            if count is None or not await conn.fetchval(change, thing_id, user_id):
                return count
            return await conn.fetchval(
                f"UPDATE {self.things} SET {self.counter} = {self.counter} + $2 WHERE id = $1 "
                f"RETURNING {self.counter}",
                thing_id,
                1 if member else -1,
            )
