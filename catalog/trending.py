"""Trending: a "hot" score per video, recomputed in the background, read from an index.

For every listed video (public, ready) with a counted view or a reaction in the last
:data:`WINDOW`::

    engagement = 1·views + 4·likes - 4·dislikes + 2·comments
    hot        = engagement / (age_hours + 2) ^ 1.5

``views`` are the views counted in the window (one per viewer per hour, ``video_views``),
``likes``/``dislikes`` the reactions chosen in the window, ``comments`` the video's live
comment count (all time: the age term makes old discussions fade), ``age_hours`` the time since
publication. This is Hacker News' gravity ranking over a window: engagement per unit of age, so
a new video with a burst of views overtakes an old one with more views in total, and every
video sinks as it ages. Only videos with ``hot > 0`` are kept.

:meth:`HotScores.refresh` rewrites ``video_hot_scores`` from the window's rows only (an
index range on ``video_views.hour`` and ``video_reactions.created_at``), never scanning every
video; the API's background task runs it every :data:`REFRESH_INTERVAL`. A trending request
reads the top of ``video_hot_scores_rank`` and checks each video is still listed, so a video
made private or deleted leaves trending at once, not at the next refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from catalog.video_listings import LISTED, LISTED_AT, VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo
from catalog.videos import Video

WINDOW = timedelta(hours=48)
REFRESH_INTERVAL = timedelta(seconds=60)
VIEW_WEIGHT = 1.0
LIKE_WEIGHT = 4.0
DISLIKE_WEIGHT = 4.0
COMMENT_WEIGHT = 2.0
AGE_OFFSET_HOURS = 2.0
GRAVITY = 1.5
_REFRESH_LOCK = 0x686F_7473  # "hots": one refresh at a time across nodes

_REFRESH = f"""
    WITH recent_views AS (
        SELECT video_id, count(*) AS views FROM video_views
        WHERE hour >= now() - $1::interval GROUP BY video_id),
    recent_reactions AS (
        SELECT video_id, count(*) FILTER (WHERE kind = 'like') AS likes,
               count(*) FILTER (WHERE kind = 'dislike') AS dislikes
        FROM video_reactions WHERE created_at >= now() - $1::interval GROUP BY video_id),
    scored AS (
        SELECT v.id AS video_id,
               ($2::float8 * coalesce(rv.views, 0) + $3::float8 * coalesce(rr.likes, 0)
                - $4::float8 * coalesce(rr.dislikes, 0) + $5::float8 * v.comment_count)
               / power(greatest(extract(epoch FROM now() - {LISTED_AT})::float8, 0) / 3600
                       + $6::float8, $7::float8)
               AS score
        FROM recent_views rv FULL JOIN recent_reactions rr USING (video_id)
        JOIN videos v ON v.id = video_id
        WHERE {LISTED}),
    kept AS (
        INSERT INTO video_hot_scores (video_id, score)
        SELECT video_id, score FROM scored WHERE score > 0
        ON CONFLICT (video_id) DO UPDATE SET score = EXCLUDED.score, computed_at = now()
        RETURNING video_id),
    dropped AS (
        DELETE FROM video_hot_scores h
        WHERE NOT EXISTS (SELECT 1 FROM kept WHERE kept.video_id = h.video_id)
        RETURNING video_id)
    SELECT (SELECT count(*) FROM kept) AS kept, (SELECT count(*) FROM dropped) AS dropped"""


@dataclass(frozen=True, slots=True)
class TrendingVideo:
    video: Video
    score: float


class HotScores:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def refresh(self) -> tuple[int, int]:
        """Recompute every score from the window; returns (videos scored, videos dropped).

        Waits for a refresh already running (another node's), so two never write the same rows
        in different orders.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _REFRESH_LOCK)
            row = await conn.fetchrow(
                _REFRESH,
                WINDOW,
                VIEW_WEIGHT,
                LIKE_WEIGHT,
                DISLIKE_WEIGHT,
                COMMENT_WEIGHT,
                AGE_OFFSET_HOURS,
                GRAVITY,
            )
        return row["kept"], row["dropped"]

    async def top(self, *, after: tuple[float, int] | None, limit: int) -> list[TrendingVideo]:
        """The hottest listed videos after ``after`` (a ``(score, video id)``), hottest first."""
        args: list[object] = [limit]
        after_clause = ""
        if after is not None:
            after_clause = "AND (h.score, h.video_id) < ($2, $3)"
            args += after
        rows = await self._pool.fetch(
            f"""SELECT {VIDEO_COLUMNS}, h.score FROM video_hot_scores h
                JOIN ({VIDEO_JOIN}) ON v.id = h.video_id
                WHERE {LISTED} {after_clause}
                ORDER BY h.score DESC, h.video_id DESC LIMIT $1""",
            *args,
        )
        return [TrendingVideo(ListedVideo.from_row(row).video, row["score"]) for row in rows]
