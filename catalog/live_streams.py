"""Live streams and their stream keys: create, look up by key, list, add/rotate/revoke keys.

A stream belongs to a channel, or to nobody when ``tributary stream create`` made it (that path
needs no account). :meth:`LiveStreamCatalog.stream_for_key` is the publishing gate for every
ingest protocol.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

STREAM_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
STREAM_NAME = re.compile(STREAM_NAME_PATTERN)
MAX_KEYS_PER_STREAM = 10
_KEY_PREFIX = "trb_"
_STREAM_COLUMNS = "s.id, s.name, s.title, s.channel_id, s.record"


class InvalidStreamName(ValueError):
    pass


class StreamExists(ValueError):
    pass


class TooManyKeys(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class LiveStream:
    id: int
    name: str
    title: str
    channel_id: int | None
    record: bool = True
    """Record the next stream (it becomes a video when it ends). Defaulted for queries that
    select streams without it (search), which never read it."""


@dataclass(frozen=True, slots=True)
class StreamKey:
    """A key as listed: never the secret, which exists only in :class:`NewStreamKey`."""

    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewStreamKey:
    """The only moment the plain key exists outside the publisher's hands."""

    stream: LiveStream
    key: str
    info: StreamKey


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


async def _insert_key(
    conn: asyncpg.Connection, stream: LiveStream, label: str
) -> NewStreamKey:
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        """INSERT INTO stream_keys (stream_id, key_sha256, label) VALUES ($1, $2, $3)
           RETURNING id, label, created_at, last_used_at""",
        stream.id,
        _digest(key),
        label,
    )
    return NewStreamKey(stream, key, StreamKey(**row))


class LiveStreamCatalog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, name: str, title: str = "", *, channel_id: int | None = None, key_label: str = ""
    ) -> NewStreamKey:
        if not STREAM_NAME.match(name):
            raise InvalidStreamName(
                "stream names are 1-63 characters: lowercase letters, digits, '-' and '_', "
                "starting with a letter or digit"
            )
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    """INSERT INTO live_streams AS s (name, title, channel_id) VALUES ($1, $2, $3)
                       RETURNING """ + _STREAM_COLUMNS,
                    name,
                    title,
                    channel_id,
                )
            except asyncpg.UniqueViolationError:
                raise StreamExists(f"a stream named {name!r} already exists") from None
            return await _insert_key(conn, LiveStream(**row), key_label)

    async def stream_for_key(self, key: str) -> LiveStream | None:
        """The stream a publishing key belongs to, or None for unknown or revoked keys.

        Records the key's last use: this is called once per publish attempt.
        """
        if not key.startswith(_KEY_PREFIX) or len(key) > 200:
            return None
        row = await self._pool.fetchrow(
            """UPDATE stream_keys k SET last_used_at = now() FROM live_streams s
               WHERE s.id = k.stream_id AND k.key_sha256 = $1 AND k.revoked_at IS NULL
               RETURNING """ + _STREAM_COLUMNS,
            _digest(key),
        )
        return LiveStream(**row) if row else None

    async def by_name(self, name: str) -> LiveStream | None:
        row = await self._pool.fetchrow(
            f"SELECT {_STREAM_COLUMNS} FROM live_streams s WHERE name = $1", name
        )
        return LiveStream(**row) if row else None

    async def for_channel(
        self, channel_id: int, *, after_id: int | None, limit: int
    ) -> list[LiveStream]:
        """A channel's streams, newest first, starting after ``after_id`` (keyset pagination)."""
        rows = await self._pool.fetch(
            f"""SELECT {_STREAM_COLUMNS} FROM live_streams s
                WHERE channel_id = $1 AND ($2::bigint IS NULL OR id < $2)
                ORDER BY id DESC LIMIT $3""",
            channel_id,
            after_id,
            limit,
        )
        return [LiveStream(**row) for row in rows]

    async def with_handles(self, names: Sequence[str]) -> list[tuple[LiveStream, str | None]]:
        """Streams named ``names`` (in name order) with their channel's handle, if any."""
        rows = await self._pool.fetch(
            f"""SELECT {_STREAM_COLUMNS}, c.handle FROM live_streams s
                LEFT JOIN channels c ON c.id = s.channel_id
                WHERE s.name = ANY($1::text[]) ORDER BY s.name""",
            list(names),
        )
        return [
            (LiveStream(**{key: row[key] for key in row.keys() if key != "handle"}), row["handle"])
            for row in rows
        ]

    async def set_record(self, stream_id: int, record: bool) -> LiveStream | None:
        """Turn recording on or off for the stream's next publish; None if the stream is gone."""
        row = await self._pool.fetchrow(
            f"UPDATE live_streams s SET record = $2 WHERE id = $1 RETURNING {_STREAM_COLUMNS}",
            stream_id,
            record,
        )
        return LiveStream(**row) if row else None

    async def keys(self, stream_id: int) -> list[StreamKey]:
        rows = await self._pool.fetch(
            """SELECT id, label, created_at, last_used_at FROM stream_keys
               WHERE stream_id = $1 AND revoked_at IS NULL ORDER BY id""",
            stream_id,
        )
        return [StreamKey(**row) for row in rows]

    async def add_key(self, stream: LiveStream, label: str) -> NewStreamKey:
        """Another key for the stream (e.g. a backup encoder); raises :class:`TooManyKeys`."""
        async with self._pool.acquire() as conn, conn.transaction():
            # Lock the stream so concurrent additions cannot both pass the count.
            await conn.execute("SELECT 1 FROM live_streams WHERE id = $1 FOR UPDATE", stream.id)
            active = await conn.fetchval(
                "SELECT count(*) FROM stream_keys WHERE stream_id = $1 AND revoked_at IS NULL",
                stream.id,
            )
            if active >= MAX_KEYS_PER_STREAM:
                raise TooManyKeys(f"a stream has at most {MAX_KEYS_PER_STREAM} active keys")
            return await _insert_key(conn, stream, label)

    async def rotate_key(self, stream: LiveStream, key_id: int) -> NewStreamKey | None:
        """Revoke key ``key_id`` and make its replacement (same label), atomically.

        None if the stream has no such active key.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            label = await _revoke(conn, stream.id, key_id)
            if label is None:
                return None
            return await _insert_key(conn, stream, label)

    async def revoke_key(self, stream: LiveStream, key_id: int) -> bool:
        async with self._pool.acquire() as conn:
            return await _revoke(conn, stream.id, key_id) is not None

    async def count(self) -> int:
        return await self._pool.fetchval("SELECT count(*) FROM live_streams")


async def _revoke(conn: asyncpg.Connection, stream_id: int, key_id: int) -> str | None:
    """Revoke an active key; returns its label, or None if there was no such active key."""
    return await conn.fetchval(
        """UPDATE stream_keys SET revoked_at = now()
           WHERE id = $1 AND stream_id = $2 AND revoked_at IS NULL RETURNING label""",
        key_id,
        stream_id,
    )
