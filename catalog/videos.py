"""Videos: create, fetch by public id, and the one rule for who may see a video.

Public ids are 11 characters of base64url from 64 random bits (not sequential, so ids of
unlisted videos cannot be guessed by counting).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from catalog.access import Principal, may_manage

PUBLIC_ID_PATTERN = r"^[A-Za-z0-9_-]{11}$"
_COLUMNS = """v.id, v.public_id, v.channel_id, c.owner_id, v.title, v.description, v.tags,
              v.category, v.language, v.privacy, v.status, v.failure_reason,
              v.progress_percent, v.eta, v.duration_seconds, v.view_count, v.like_count,
              v.dislike_count, v.comment_count, v.created_at, v.updated_at, v.published_at"""
_PUBLIC_ID_ATTEMPTS = 5


class Privacy(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


class Status(StrEnum):
    UPLOADING = "uploading"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Video:
    id: int
    public_id: str
    channel_id: int
    owner_id: int
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

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Video:
        return cls(**{**row, "privacy": Privacy(row["privacy"]), "status": Status(row["status"])})


def may_watch(video: Video, principal: Principal | None) -> bool:
    """The visibility rule, for a caller who names the video by its id.

    Owner and admins see everything. Others see a video once it is ready, if it is public or
    unlisted (unlisted = by direct id only: listings, search, feeds and trending must filter
    with ``privacy = 'public'`` themselves). Anything else must answer 404, never 403, so a
    private video's existence does not leak.
    """
    if may_manage(principal, video.owner_id):
        return True
    return video.status is Status.READY and video.privacy in (Privacy.PUBLIC, Privacy.UNLISTED)


def _new_public_id() -> str:
    return secrets.token_urlsafe(8)


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
        privacy: Privacy = Privacy.PRIVATE,
        status: Status = Status.UPLOADING,
    ) -> Video:
        for _ in range(_PUBLIC_ID_ATTEMPTS):
            try:
                row = await self._pool.fetchrow(
                    f"""WITH v AS (
                            INSERT INTO videos (public_id, channel_id, title, description, tags,
                                                privacy, status)
                            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *)
                        SELECT {_COLUMNS} FROM v JOIN channels c ON c.id = v.channel_id""",
                    _new_public_id(),
                    channel_id,
                    title,
                    description,
                    tags or [],
                    privacy.value,
                    status.value,
                )
            except asyncpg.UniqueViolationError:
                continue  # a public id collision (2^-64 per pair): draw again
            return Video.from_row(row)
        raise RuntimeError("could not draw an unused public id")

    async def get(self, public_id: str) -> Video | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM videos v JOIN channels c ON c.id = v.channel_id "
            "WHERE v.public_id = $1",
            public_id,
        )
        return Video.from_row(row) if row else None
