"""Watch history: per viewer and video, the last position, when, and whether it was finished.

A player reports its position now and then; each report replaces the previous one (an upsert:
one row per viewer and video) and moves the video to the top of the history. A video is
*finished* once a report reaches :data:`FINISHED_FRACTION` of its duration or the player says
so; that stays true when the viewer watches it again (it is what "already seen" means to
related videos), while the position keeps following the player so resuming still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from catalog.video_listings import VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo
from catalog.videos import Video

FINISHED_FRACTION = 0.95


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    position_seconds: float
    finished: bool
    watched_at: datetime


@dataclass(frozen=True, slots=True)
class WatchedVideo:
    listed: ListedVideo
    entry: HistoryEntry


def reached_end(position_seconds: float, duration_seconds: float | None) -> bool:
    return bool(duration_seconds) and position_seconds >= FINISHED_FRACTION * duration_seconds


class WatchHistory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(
        self, user_id: int, video: Video, position_seconds: float, *, finished: bool = False
    ) -> HistoryEntry | None:
        """Upsert the viewer's position (clamped to the duration, when known); None if the
        video is gone. The video's row is only share-locked: its viewers do not take turns."""
        if video.duration_seconds is not None:
            position_seconds = min(position_seconds, video.duration_seconds)
        finished = finished or reached_end(position_seconds, video.duration_seconds)
        row = await self._pool.fetchrow(
            """WITH target AS (SELECT id FROM videos WHERE id = $2 FOR KEY SHARE)
               INSERT INTO watch_history AS h (user_id, video_id, position_seconds, finished)
               SELECT $1, id, $3, $4 FROM target
               ON CONFLICT (user_id, video_id) DO UPDATE
               SET position_seconds = excluded.position_seconds,
                   finished = h.finished OR excluded.finished,
                   watched_at = now()
               RETURNING position_seconds, finished, watched_at""",
            user_id,
            video.id,
            position_seconds,
            finished,
        )
        return HistoryEntry(**row) if row else None

    async def entry(self, user_id: int, video_id: int) -> HistoryEntry | None:
        row = await self._pool.fetchrow(
            """SELECT position_seconds, finished, watched_at FROM watch_history
               WHERE user_id = $1 AND video_id = $2""",
            user_id,
            video_id,
        )
        return HistoryEntry(**row) if row else None

    async def recent(
        self, user_id: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[WatchedVideo]:
        """The user's history, most recently watched first (every video: callers filter)."""
        args: list[object] = [user_id, limit]
        after_clause = ""
        if after is not None:
            after_clause = "AND (h.watched_at, h.video_id) < ($3, $4)"
            args += after
        rows = await self._pool.fetch(
            f"""SELECT {VIDEO_COLUMNS}, h.position_seconds, h.finished, h.watched_at
                FROM watch_history h JOIN ({VIDEO_JOIN}) ON v.id = h.video_id
                WHERE h.user_id = $1 {after_clause}
                ORDER BY h.watched_at DESC, h.video_id DESC LIMIT $2""",
            *args,
        )
        return [
            WatchedVideo(
                ListedVideo.from_row(row),
                HistoryEntry(row["position_seconds"], row["finished"], row["watched_at"]),
            )
            for row in rows
        ]

    async def remove(self, user_id: int, video_id: int) -> bool:
        deleted = await self._pool.fetchval(
            "DELETE FROM watch_history WHERE user_id = $1 AND video_id = $2 RETURNING true",
            user_id,
            video_id,
        )
        return bool(deleted)

    async def clear(self, user_id: int) -> None:
        await self._pool.execute("DELETE FROM watch_history WHERE user_id = $1", user_id)
