"""Resumable uploads: how far each one has come, and the hand-over of a finished one's video.

The SQL behind :mod:`vod.uploads`. An upload row is made right after its video (status
``uploading``) and owns it until its bytes are complete: deleting an unfinished upload
(termination, expiry) deletes that video too, and deleting the video deletes the row (cascade).

The offset only moves by compare-and-set from the offset a writer started at, so two writers can
never both commit bytes for the same range, whatever the node-local locks say. Expiry is judged
by the database's clock, the one every node shares.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

UPLOAD_ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"
_ID_ATTEMPTS = 5
_COLUMNS = """u.id, u.video_id, v.public_id AS video_public_id, u.owner_id,
              u.upload_length AS length, u.upload_offset AS "offset", u.metadata::text AS metadata,
              u.expires_at, (u.completed_at IS NULL AND u.expires_at <= now()) AS expired,
              u.created_at, u.completed_at,
              u.stored_at"""


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    video_id: int
    video_public_id: str
    owner_id: int
    length: int
    offset: int
    metadata: dict[str, str]
    expires_at: datetime
    expired: bool
    """Unfinished and past ``expires_at``, by the database's clock."""
    created_at: datetime
    completed_at: datetime | None
    stored_at: datetime | None

    @property
    def complete(self) -> bool:
        return self.completed_at is not None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Upload:
        return cls(**{**row, "metadata": json.loads(row["metadata"])})


def _select(source: str = "uploads") -> str:
    return f"SELECT {_COLUMNS} FROM {source} u JOIN videos v ON v.id = u.video_id"


class Uploads:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, video_id: int, owner_id: int, length: int, metadata: Mapping[str, str], lifetime: timedelta
    ) -> Upload:
        for _ in range(_ID_ATTEMPTS):
            try:
                row = await self._pool.fetchrow(
                    f"""WITH inserted AS (
                            INSERT INTO uploads (id, video_id, owner_id, upload_length, metadata,
                                                 expires_at)
                            VALUES ($1, $2, $3, $4, $5::jsonb, now() + $6) RETURNING *)
                        {_select("inserted")}""",
                    secrets.token_urlsafe(16),
                    video_id,
                    owner_id,
                    length,
                    json.dumps(dict(metadata)),
                    lifetime,
                )
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name != "uploads_pkey":
                    raise
                continue  # an id collision (2^-128 per pair): draw again
            return Upload.from_row(row)
        raise RuntimeError("could not draw an unused upload id")

    async def get(self, upload_id: str) -> Upload | None:
        row = await self._pool.fetchrow(f"{_select()} WHERE u.id = $1", upload_id)
        return Upload.from_row(row) if row else None

    async def advance(self, upload_id: str, start: int, end: int, lifetime: timedelta) -> Upload | None:
        """Record bytes ``[start, end)`` as received (already durable on the staging disk) and push
        the expiry back; None if the upload is gone, finished, or no longer at ``start``."""
        row = await self._pool.fetchrow(
            f"""WITH advanced AS (
                    UPDATE uploads SET upload_offset = $3, expires_at = now() + $4,
                                       completed_at = CASE WHEN $3 = upload_length THEN now() END
                    WHERE id = $1 AND upload_offset = $2 AND completed_at IS NULL RETURNING *)
                {_select("advanced")}""",
            upload_id,
            start,
            end,
            lifetime,
        )
        return Upload.from_row(row) if row else None

    async def terminate(self, upload_id: str) -> bool:
        """Delete an unfinished upload with its video; False if it is gone or already finished."""
        return await self._delete_unfinished(upload_id, expired_only=False)

    async def delete_expired(self, upload_id: str) -> bool:
        """As :meth:`terminate`, if the upload is (still) expired: bytes that arrived since it was
        found expired pushed its expiry back, and it lives on."""
        return await self._delete_unfinished(upload_id, expired_only=True)

    async def _delete_unfinished(self, upload_id: str, *, expired_only: bool) -> bool:
        # Both rows in one statement; the video only while it is still the upload's (uploading).
        return await self._pool.fetchval(
            """WITH doomed AS (
                   DELETE FROM uploads
                   WHERE id = $1 AND completed_at IS NULL AND (NOT $2 OR expires_at <= now())
                   RETURNING video_id),
               videos_gone AS (
                   DELETE FROM videos
                   WHERE id IN (SELECT video_id FROM doomed) AND status = 'uploading')
               SELECT EXISTS (SELECT 1 FROM doomed)""",
            upload_id,
            expired_only,
        )

    async def expired(self, limit: int) -> list[str]:
        """Ids of unfinished uploads past their expiry, the longest expired first."""
        rows = await self._pool.fetch(
            """SELECT id FROM uploads WHERE completed_at IS NULL AND expires_at <= now()
               ORDER BY expires_at LIMIT $1""",
            limit,
        )
        return [row["id"] for row in rows]

    async def unstored(self, limit: int) -> list[Upload]:
        """Finished uploads whose hand-over did not finish (a crash, storage trouble)."""
        rows = await self._pool.fetch(
            f"""{_select()} WHERE u.completed_at IS NOT NULL AND u.stored_at IS NULL
                ORDER BY u.completed_at LIMIT $1""",
            limit,
        )
        return [Upload.from_row(row) for row in rows]

    async def existing(self, upload_ids: Collection[str]) -> set[str]:
        rows = await self._pool.fetch("SELECT id FROM uploads WHERE id = ANY($1::text[])", list(upload_ids))
        return {row["id"] for row in rows}

    async def start_processing(self, video_id: int) -> bool:
        """Move the video from ``uploading`` to ``processing``; whether the video still exists.

        Conditional, so that repeating a hand-over after a crash never pulls back a video that
        processing has already moved on (ready, failed).
        """
        return await self._pool.fetchval(
            """WITH handed AS (
                   UPDATE videos SET status = 'processing', progress_percent = 0, eta = NULL,
                                     failure_reason = NULL, updated_at = now()
                   WHERE id = $1 AND status = 'uploading')
               SELECT EXISTS (SELECT 1 FROM videos WHERE id = $1)""",
            video_id,
        )

    async def mark_stored(self, upload_id: str) -> None:
        await self._pool.execute(
            "UPDATE uploads SET stored_at = now() WHERE id = $1 AND stored_at IS NULL", upload_id
        )
