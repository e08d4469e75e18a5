"""Videos: create, fetch by public id, edit, delete, processing status, thumbnail choice, and
the one rule for who may see a video.

Public ids are 11 characters of base64url from 64 random bits (not sequential, so ids of
unlisted videos cannot be guessed by counting).

Lock order: a write that changes a video's counters or its thumbnail choice locks the video's
row first (``FOR NO KEY UPDATE``, or the ``UPDATE`` itself), then the rows that hang off it, so
such writers never deadlock with each other or with a deletion (which locks the video, then
cascades).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from catalog.access import Principal, may_manage

PUBLIC_ID_PATTERN = r"^[A-Za-z0-9_-]{11}$"
_COLUMNS = """v.id, v.public_id, v.channel_id, c.owner_id, c.handle AS channel_handle, v.title,
              v.description, v.tags, v.category, v.language, v.privacy, v.status,
              v.failure_reason, v.progress_percent, v.eta, v.duration_seconds, v.view_count,
              v.like_count, v.dislike_count, v.comment_count, v.created_at, v.updated_at,
              v.published_at,
              (SELECT t.id FROM thumbnails t
               WHERE t.video_id = v.id AND (t.kind = 'poster' OR t.kind = 'thumbnail' AND t.chosen)
               ORDER BY t.kind = 'thumbnail' DESC, t.id LIMIT 1) AS cover_thumbnail_id"""
_PUBLIC_ID_ATTEMPTS = 5

LOCK_VIDEO = "SELECT id FROM videos WHERE id = $1 FOR NO KEY UPDATE"
"""A CTE body that takes a video's row lock (``$1`` = its id) before a counter write."""


class Privacy(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


class Status(StrEnum):
    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class UnknownThumbnail(LookupError):
    """A thumbnail id that is not one of the video's thumbnails."""


@dataclass(frozen=True, slots=True)
class Video:
    id: int
    public_id: str
    channel_id: int
    owner_id: int
    channel_handle: str
    title: str
    description: str
    tags: list[str]
    category: str
    language: str
    privacy: Privacy
    status: Status
    failure_reason: str | None
    progress_percent: int
    eta: datetime | None
    duration_seconds: float | None
    view_count: int
    like_count: int
    dislike_count: int
    comment_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    cover_thumbnail_id: int | None  # the chosen thumbnail, else the poster; None: no pictures yet

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Video:
        return cls(**{**row, "privacy": Privacy(row["privacy"]), "status": Status(row["status"])})


@dataclass(frozen=True, slots=True)
class VideoChanges:
    """An edit by the video's owner: None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    category: str | None = None
    language: str | None = None
    privacy: Privacy | None = None
    thumbnail_id: int | None = None


@dataclass(frozen=True, slots=True)
class Thumbnail:
    id: int
    kind: str
    width: int
    height: int
    chosen: bool
    created_at: datetime


def may_watch(video: Video, principal: Principal | None) -> bool:
    """The visibility rule, for a caller who names the video by its id.

    Owner and admins see everything. Others see a video once it is ready, if it is public or
    unlisted (unlisted = by direct id only: listings, search, feeds and trending must filter
    with ``privacy = 'public'`` themselves, :data:`catalog.video_listings.LISTED`). Anything else
    must answer 404, never 403, so a private video's existence does not leak.
    """
    if may_manage(principal, video.owner_id):
        return True
    return video.status is Status.READY and video.privacy in (Privacy.PUBLIC, Privacy.UNLISTED)


def _new_public_id() -> str:
    return secrets.token_urlsafe(8)


def _select(source: str = "videos") -> str:
    """``SELECT`` of :class:`Video` columns from ``source`` (a table or CTE of video rows)."""
    return f"SELECT {_COLUMNS} FROM {source} v JOIN channels c ON c.id = v.channel_id"


class Videos:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self,
        channel_id: int,
        title: str,
        *,
        description: str = "",
        tags: list[str] | None = None,
        category: str = "",
        language: str = "",
        privacy: Privacy = Privacy.PRIVATE,
        status: Status = Status.UPLOADING,
    ) -> Video:
        for _ in range(_PUBLIC_ID_ATTEMPTS):
            try:
                row = await self._pool.fetchrow(
                    f"""WITH inserted AS (
                            INSERT INTO videos (public_id, channel_id, title, description, tags,
                                                category, language, privacy, status)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *)
                        {_select("inserted")}""",
                    _new_public_id(),
                    channel_id,
                    title,
                    description,
                    tags or [],
                    category,
                    language,
                    privacy.value,
                    status.value,
                )
            except asyncpg.UniqueViolationError:
                continue  # a public id collision (2^-64 per pair): draw again
            return Video.from_row(row)
        raise RuntimeError("could not draw an unused public id")

    async def get(self, public_id: str) -> Video | None:
        row = await self._pool.fetchrow(f"{_select()} WHERE v.public_id = $1", public_id)
        return Video.from_row(row) if row else None

    async def update(self, video_id: int, changes: VideoChanges) -> Video | None:
        """Apply an edit in one transaction; None if the video is gone.

        Raises :class:`UnknownThumbnail` (and changes nothing) if ``thumbnail_id`` is not one of
        the video's thumbnails of kind ``thumbnail``.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            found = await conn.fetchval(
                """UPDATE videos SET title = coalesce($2, title),
                                     description = coalesce($3, description),
                                     tags = coalesce($4, tags),
                                     category = coalesce($5, category),
                                     language = coalesce($6, language),
                                     privacy = coalesce($7::video_privacy, privacy),
                                     updated_at = now()
                   WHERE id = $1 RETURNING true""",
                video_id,
                changes.title,
                changes.description,
                changes.tags,
                changes.category,
                changes.language,
                changes.privacy.value if changes.privacy else None,
            )
            if not found:
                return None
            if changes.thumbnail_id is not None:
                await _choose_thumbnail(conn, video_id, changes.thumbnail_id)
            row = await conn.fetchrow(f"{_select()} WHERE v.id = $1", video_id)
        return Video.from_row(row)

    async def delete(self, video_id: int) -> bool:
        """Delete the video with its reactions, views, renditions and thumbnails (cascade)."""
        return await self._pool.fetchval("DELETE FROM videos WHERE id = $1 RETURNING true", video_id) or False

    async def set_status(
        self,
        video_id: int,
        status: Status,
        *,
        progress_percent: int = 0,
        eta: datetime | None = None,
        failure_reason: str | None = None,
        duration_seconds: float | None = None,
    ) -> Video | None:
        """Where processing reports progress (upload → processing → ready or failed).

        ``failure_reason`` only with :attr:`Status.FAILED`; ``duration_seconds`` None keeps the
        known duration. A ready video is 100 % with no ETA.
        """
        return await set_status(
            self._pool,
            video_id,
            status,
            progress_percent=progress_percent,
            eta=eta,
            failure_reason=failure_reason,
            duration_seconds=duration_seconds,
        )

    async def thumbnails(self, video_id: int) -> list[Thumbnail]:
        rows = await self._pool.fetch(
            """SELECT id, kind::text, width, height, chosen, created_at FROM thumbnails
               WHERE video_id = $1 ORDER BY id""",
            video_id,
        )
        return [Thumbnail(**row) for row in rows]


async def set_status(
    db: asyncpg.Pool | asyncpg.Connection,
    video_id: int,
    status: Status,
    *,
    progress_percent: int = 0,
    eta: datetime | None = None,
    failure_reason: str | None = None,
    duration_seconds: float | None = None,
) -> Video | None:
    """:meth:`Videos.set_status` on ``db``: a connection when the status change belongs to a
    larger transaction (a transcode turns ready in the one that attaches its renditions)."""
    if status is Status.READY:
        progress_percent, eta = 100, None
    row = await db.fetchrow(
        f"""WITH changed AS (
                UPDATE videos SET status = $2, progress_percent = $3, eta = $4,
                                  failure_reason = $5,
                                  duration_seconds = coalesce($6, duration_seconds),
                                  updated_at = now()
                WHERE id = $1 RETURNING *)
            {_select("changed")}""",
        video_id,
        status.value,
        progress_percent,
        eta,
        failure_reason,
        duration_seconds,
    )
    return Video.from_row(row) if row else None


async def _choose_thumbnail(conn: asyncpg.Connection, video_id: int, thumbnail_id: int) -> None:
    """Make ``thumbnail_id`` the video's chosen thumbnail (inside the caller's transaction,
    after the video's row is locked, so two concurrent choices cannot both be chosen).

    Two statements: the unique index on chosen thumbnails is checked row by row, so un-choosing
    the old one and choosing the new one in one statement could trip it midway.
    """
    await conn.execute(
        """UPDATE thumbnails SET chosen = false
           WHERE video_id = $1 AND kind = 'thumbnail' AND chosen AND id <> $2""",
        video_id,
        thumbnail_id,
    )
    chosen = await conn.fetchval(
        """UPDATE thumbnails SET chosen = true
           WHERE id = $2 AND video_id = $1 AND kind = 'thumbnail' RETURNING true""",
        video_id,
        thumbnail_id,
    )
    if not chosen:
        raise UnknownThumbnail(f"thumbnail {thumbnail_id} is not one of this video's thumbnails")
