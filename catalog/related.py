"""Related videos: what shares the video's tags, and what its recent viewers also watched.

Scoring, per candidate (each part between 0 and 1)::

    score = tag_share + CO_WATCH_WEIGHT * co_watch_share
    tag_share      = tags shared with the video / the video's (distinct) tags
    co_watch_share = sampled viewers of the video who also watched the candidate / viewers sampled

Co-watching weighs more because it is what people did, while tags are what a creator declared.
Ties go to the more viewed video, then the newer one. Candidates are listed videos only (public
and ready: never unlisted or private ones), never the video itself, and never one the caller
has finished (their watch history).

Cost is bounded whatever the catalog's size: at most :data:`TAG_SAMPLE` tag-sharing candidates
(from the partial GIN index on listed videos' tags, in no particular order: a sample, not the
best of all), the :data:`VIEWER_SAMPLE` most recent viewers of the video and the
:data:`PER_VIEWER` videos each of them watched last (both from watch history indexes).
"""

from __future__ import annotations

import asyncpg

from catalog.video_listings import LISTED, VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo
from catalog.videos import Video

CO_WATCH_WEIGHT = 2.0
TAG_SAMPLE = 500
VIEWER_SAMPLE = 200
PER_VIEWER = 50


class RelatedVideos:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def for_video(self, video: Video, viewer_id: int | None, limit: int) -> list[ListedVideo]:
        """The best ``limit`` candidates for someone watching ``video`` (``viewer_id``: who)."""
        rows = await self._pool.fetch(
            f"""
            WITH viewers AS (
                SELECT user_id FROM watch_history
                WHERE video_id = $1 AND ($2::bigint IS NULL OR user_id <> $2)
                ORDER BY watched_at DESC LIMIT $6
            ), co_watched AS (
                SELECT w.video_id,
                       count(*)::float8 / (SELECT greatest(count(*), 1) FROM viewers) AS share
                FROM viewers CROSS JOIN LATERAL (
                    SELECT h.video_id FROM watch_history h
                    WHERE h.user_id = viewers.user_id AND h.video_id <> $1
                    ORDER BY h.watched_at DESC LIMIT $7) w
                GROUP BY w.video_id
            ), tagged AS (
                SELECT v.id AS video_id,
                       cardinality(ARRAY(SELECT unnest(v.tags) INTERSECT SELECT unnest($3::text[])))
                           ::float8 / cardinality($3::text[]) AS share
                FROM videos v
                WHERE v.tags && $3::text[] AND {LISTED} AND v.id <> $1
                LIMIT $5
            ), scored AS (
                SELECT video_id, sum(share) AS score FROM (
                    SELECT video_id, share FROM tagged
                    UNION ALL
                    SELECT video_id, share * $8 FROM co_watched) parts
                GROUP BY video_id
            )
            SELECT {VIDEO_COLUMNS} FROM scored s JOIN ({VIDEO_JOIN}) ON v.id = s.video_id
            WHERE {LISTED} AND NOT EXISTS (
                SELECT 1 FROM watch_history f WHERE f.user_id = $2 AND f.video_id = v.id AND f.finished)
            ORDER BY s.score DESC, v.view_count DESC, v.id DESC
            LIMIT $4""",
            video.id,
            viewer_id,
            sorted(set(video.tags)),
            limit,
            TAG_SAMPLE,
            VIEWER_SAMPLE,
            PER_VIEWER,
            CO_WATCH_WEIGHT,
        )
        return [ListedVideo.from_row(row) for row in rows]
