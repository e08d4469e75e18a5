"""The newest listed videos of every channel (:data:`~catalog.video_listings.LISTED`), by
publication time, keyset paged: what a home page shows as "latest"."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from catalog.video_listings import LISTED, LISTED_AT, VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo


class LatestVideos:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(self, *, after: tuple[datetime, int] | None, limit: int) -> list[ListedVideo]:
        """Up to ``limit`` listed videos after ``after`` (``(listed_at, id)``), newest first."""
        args: list[object] = [limit]
        after_clause = ""
        if after is not None:
            after_clause = f"AND ({LISTED_AT}, v.id) < ($2, $3)"
            args += after
        rows = await self._pool.fetch(
            f"""SELECT {VIDEO_COLUMNS} FROM {VIDEO_JOIN}
                WHERE {LISTED} {after_clause}
                ORDER BY {LISTED_AT} DESC, v.id DESC LIMIT $1""",
            *args,
        )
        return [ListedVideo.from_row(row) for row in rows]
