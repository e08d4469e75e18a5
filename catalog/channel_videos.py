"""A channel's videos, newest first: all of them for the channel's managers, only listed ones
(:data:`~catalog.video_listings.LISTED`) for everyone else.

Each audience has its own order and index: managers see uploads in creation order
(``videos_channel``), so a video still processing is at the top; everyone else sees videos by
when they were published (``videos_channel_listed``, the order of the subscription feed).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from catalog.video_listings import LISTED, LISTED_AT, VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo


def sort_key(listed: ListedVideo, *, everything: bool) -> tuple[datetime, int]:
    """The keyset of :meth:`ChannelVideos.page` for ``listed``, as its cursor continues after."""
    video = listed.video
    return (video.created_at if everything else listed.listed_at), video.id


class ChannelVideos:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(
        self,
        channel_id: int,
        *,
        everything: bool,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[ListedVideo]:
        """Up to ``limit`` videos after ``after`` (a :func:`sort_key`), newest first."""
        order, rule = ("v.created_at", "true") if everything else (LISTED_AT, LISTED)
        args: list[object] = [channel_id, limit]
        after_clause = ""
        if after is not None:
            after_clause = f"AND ({order}, v.id) < ($3, $4)"
            args += after
        rows = await self._pool.fetch(
            f"""SELECT {VIDEO_COLUMNS} FROM {VIDEO_JOIN}
                WHERE v.channel_id = $1 AND {rule} {after_clause}
                ORDER BY {order} DESC, v.id DESC LIMIT $2""",
            *args,
        )
        return [ListedVideo.from_row(row) for row in rows]
