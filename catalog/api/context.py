"""What every route module may use, built once per API application.

The node hands over its pool, its Redis client, the signing secret and three callables (the
public URLs, known once it listens; the names of streams live right now, from the packager's
registry; a wrapper for changes to who may play a video, which keeps the playback manifests
edges read from storage in step, ``vod/playback_manifest.py``: the catalog never imports
storage). Route modules keep their own data-access objects under their own ``web.AppKey``;
only things several modules share live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Protocol

import asyncpg
import redis.asyncio as redis
from aiohttp import web

from catalog.access_tokens import AccessTokens
from catalog.api.rate_limits import RateLimits
from catalog.comments import Comment
from catalog.derived_keys import PLAYBACK_TOKENS, derive_key
from catalog.passwords import Passwords
from tributary.settings import ApiSettings


@dataclass(frozen=True, slots=True)
class PublicUrls:
    """Where clients reach the service, as they should be printed and returned. On one box all
    of them are this node; in a cluster the site, the ingest (origins) and the playback hosts
    (edges) differ (``[public]`` settings)."""

    http: str  # the site: "http://host:8080"
    rtmp: str  # "rtmp://host:1935/live"
    ingest: str  # an origin's HTTP base, for WHIP
    playback: str  # a host serving /live and /vod to viewers: an edge, or the origin itself

    def whip(self, stream: str) -> str:
        return f"{self.ingest}/whip/{stream}"

    def watch(self, stream: str) -> str:
        return f"{self.http}/watch/{stream}"

    def playlist(self, stream: str) -> str:
        return f"{self.playback}/live/{stream}/master.m3u8"

    def video_playlist(self, public_id: str) -> str:
        """Where a ready video plays (``origin/vod_routes.py``)."""
        return f"{self.playback}/vod/{public_id}/master.m3u8"

    def thumbnail(self, public_id: str, thumbnail_id: int) -> str:
        return self.playback + thumbnail_path(public_id, thumbnail_id)


def thumbnail_path(public_id: str, thumbnail_id: int) -> str:
    """Where a thumbnail is served (``origin/vod_routes.py``), from any host that serves videos."""
    return f"/vod/{public_id}/thumb{thumbnail_id}.jpg"


PlaybackChange = Callable[[str], AbstractAsyncContextManager[object]]
"""``async with playback_change(public_id):`` around a change to a video's privacy or existence."""


def _no_playback_manifests(public_id: str) -> AbstractAsyncContextManager[object]:
    return nullcontext()


class CommentFeed(Protocol):
    """Told of every comment posted, deleted or hidden through the API, after the change
    commits: the chat announces them to the video's room (``chat/comment_feed.py``).
    Implementations never raise: the comment is stored whatever happens to the news."""

    async def posted(self, comment: Comment) -> None: ...

    async def removed(self, comment: Comment) -> None: ...


class _NoCommentFeed:
    async def posted(self, comment: Comment) -> None:
        return None

    async def removed(self, comment: Comment) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ApiContext:
    settings: ApiSettings
    pool: asyncpg.Pool
    passwords: Passwords
    access_tokens: AccessTokens
    playback_key: bytes
    rate_limits: RateLimits
    public_urls: Callable[[], PublicUrls]
    live_now: Callable[[], Iterable[str]]
    playback_change: PlaybackChange = _no_playback_manifests
    """The default serves an API built without storage (the OpenAPI document alone)."""
    comment_feed: CommentFeed = _NoCommentFeed()

    @classmethod
    def create(
        cls,
        settings: ApiSettings,
        *,
        pool: asyncpg.Pool,
        redis_client: redis.Redis,
        secret_key: bytes,
        public_urls: Callable[[], PublicUrls],
        live_now: Callable[[], Iterable[str]],
        playback_change: PlaybackChange,
        comment_feed: CommentFeed,
    ) -> ApiContext:
        return cls(
            settings=settings,
            pool=pool,
            passwords=Passwords(
                time_cost=settings.argon2_time_cost,
                memory_kib=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
            access_tokens=AccessTokens.of_secret(secret_key, settings.access_token_ttl),
            playback_key=derive_key(secret_key, PLAYBACK_TOKENS),
            rate_limits=RateLimits(redis_client, auth=settings.auth_rate, write=settings.write_rate),
            public_urls=public_urls,
            live_now=live_now,
            playback_change=playback_change,
            comment_feed=comment_feed,
        )


CONTEXT = web.AppKey("tributary_api_context", ApiContext)


def context(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]
