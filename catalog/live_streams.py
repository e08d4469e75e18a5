"""Live streams and their stream keys: create, look up by key, list."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import asyncpg

STREAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_KEY_PREFIX = "trb_"


class InvalidStreamName(ValueError):
    pass


class StreamExists(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LiveStream:
    id: int
    name: str
    title: str


@dataclass(frozen=True, slots=True)
class NewStreamKey:
    """The only moment the plain key exists outside the publisher's hands."""

    stream: LiveStream
    key: str


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class LiveStreamCatalog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, name: str, title: str = "") -> NewStreamKey:
        if not STREAM_NAME.match(name):
            raise InvalidStreamName(
                "stream names are 1-63 characters: lowercase letters, digits, '-' and '_', "
                "starting with a letter or digit"
            )
        key = _KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    "INSERT INTO live_streams (name, title) VALUES ($1, $2) RETURNING id, name, title",
                    name,
                    title,
                )
            except asyncpg.UniqueViolationError:
                raise StreamExists(f"a stream named {name!r} already exists") from None
            await conn.execute(
                "INSERT INTO stream_keys (stream_id, key_sha256) VALUES ($1, $2)",
                row["id"],
                _digest(key),
            )
        return NewStreamKey(LiveStream(**row), key)

    async def stream_for_key(self, key: str) -> LiveStream | None:
        """The stream a publishing key belongs to, or None for unknown or revoked keys."""
        if not key.startswith(_KEY_PREFIX) or len(key) > 200:
            return None
        row = await self._pool.fetchrow(
            """SELECT s.id, s.name, s.title FROM stream_keys k
               JOIN live_streams s ON s.id = k.stream_id
               WHERE k.key_sha256 = $1 AND k.revoked_at IS NULL""",
            _digest(key),
        )
        return LiveStream(**row) if row else None

    async def by_name(self, name: str) -> LiveStream | None:
        row = await self._pool.fetchrow(
            "SELECT id, name, title FROM live_streams WHERE name = $1", name
        )
        return LiveStream(**row) if row else None

    async def count(self) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM live_streams")
