"""Subscriptions to channels and the subscription feed.

``channels.subscriber_count`` moves with the subscription rows (:mod:`catalog.counted_memberships`),
so repeated and concurrent (un)subscribes leave it exact.

The feed merges, per subscribed channel, that channel's newest listed videos (public and ready:
never unlisted or private) from the ``videos_channel_listed`` index: each channel contributes at
most one page, so a page costs one short index range per subscription, not a scan of videos.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

import asyncpg

from catalog.channels import Channel
from catalog.counted_memberships import CountedMembership
from catalog.video_listings import LISTED, LISTED_AT, VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo

_SUBSCRIPTIONS = CountedMembership("subscriptions", "channel_id", "channels", "subscriber_count")
_CHANNEL_FIELDS = tuple(field.name for field in fields(Channel))


class OwnChannel(ValueError):
    """Subscribing to one's own channel."""


@dataclass(frozen=True, slots=True)
class Subscription:
    channel: Channel
    subscribed_at: datetime


class Subscriptions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def set_subscribed(self, user_id: int, channel: Channel, subscribed: bool) -> int | None:
        """Subscribe or unsubscribe (idempotent); returns the channel's subscriber count, or
        None if the channel is gone."""
        if subscribed and channel.owner_id == user_id:
            raise OwnChannel("a channel's owner cannot subscribe to it")
        return await _SUBSCRIPTIONS.set(self._pool, channel.id, user_id, subscribed)

    async def is_subscribed(self, user_id: int, channel_id: int) -> bool:
        return await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE user_id = $1 AND channel_id = $2)",
            user_id,
            channel_id,
        )

    async def of_user(
        self, user_id: int, *, after: tuple[datetime, int] | None, limit: int
    ) -> list[Subscription]:
        """The user's subscriptions, most recent first."""
        args: list[object] = [user_id, limit]
        after_clause = ""
        if after is not None:
            after_clause = "AND (s.created_at, s.channel_id) < ($3, $4)"
            args += after
        rows = await self._pool.fetch(
            f"""SELECT c.*, s.created_at AS subscribed_at
                FROM subscriptions s JOIN channels c ON c.id = s.channel_id
                WHERE s.user_id = $1 {after_clause}
                ORDER BY s.created_at DESC, s.channel_id DESC LIMIT $2""",
            *args,
        )
        return [
            Subscription(Channel(**{name: row[name] for name in _CHANNEL_FIELDS}), row["subscribed_at"])
            for row in rows
        ]

    async def feed(
        self, user_id: int, *, after: tuple[datetime, int] | None, limit: int
    ) -> list[ListedVideo]:
        """Listed videos of the user's subscriptions, newest first (by :data:`LISTED_AT`)."""
        args: list[object] = [user_id, limit]
        after_clause = ""
        if after is not None:
            after_clause = f"AND ({LISTED_AT}, v.id) < ($3, $4)"
            args += after
        rows = await self._pool.fetch(
            f"""SELECT f.* FROM subscriptions s CROSS JOIN LATERAL (
                    SELECT {VIDEO_COLUMNS}, {LISTED_AT} AS listed_at FROM {VIDEO_JOIN}
                    WHERE v.channel_id = s.channel_id AND {LISTED} {after_clause}
                    ORDER BY {LISTED_AT} DESC, v.id DESC LIMIT $2) f
                WHERE s.user_id = $1
                ORDER BY f.listed_at DESC, f.id DESC LIMIT $2""",
            *args,
        )
        return [ListedVideo.from_row(row) for row in rows]
