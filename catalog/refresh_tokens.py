"""Opaque refresh tokens: issued at log-in, rotated on every use, revoked by family.

A log-in starts a *family*; each refresh replaces the presented token with a new one of the same
family. A replaced token presented again is a replay (someone kept a copy), and since the server
cannot tell the thief from the owner it revokes the whole family: both must log in again.
Concurrent refreshes with one token are serialised by ``FOR UPDATE``; the loser counts as a
replay, which is the strict reading of RFC 9700 §4.14.2.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import asyncpg

from catalog.access import Role

_PREFIX = "rt_"
MAX_TOKEN_LENGTH = 100


class Rejection(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"


class RefreshRejected(Exception):
    def __init__(self, reason: Rejection) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rotated:
    user_id: int
    role: Role
    token: str


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _new_token() -> str:
    return _PREFIX + secrets.token_urlsafe(32)


class RefreshTokens:
    def __init__(self, pool: asyncpg.Pool, ttl: timedelta) -> None:
        self._pool = pool
        self._ttl = ttl

    async def issue(self, user_id: int) -> str:
        """A new family (a log-in)."""
        token = _new_token()
        await self._pool.execute(
            """INSERT INTO refresh_tokens (user_id, family_id, token_sha256, expires_at)
               VALUES ($1, $2, $3, now() + $4)""",
            user_id,
            uuid.uuid4(),
            _digest(token),
            self._ttl,
        )
        return token

    async def rotate(self, token: str) -> Rotated:
        """Exchange ``token`` for its successor; raises :class:`RefreshRejected`."""
        if not token.startswith(_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            raise RefreshRejected(Rejection.UNKNOWN)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT t.id, t.user_id, t.family_id, t.replaced_by, t.revoked_at,
                          t.expires_at <= now() AS expired, u.role, u.disabled_at
                   FROM refresh_tokens t JOIN users u ON u.id = t.user_id
                   WHERE t.token_sha256 = $1 FOR UPDATE OF t""",
                _digest(token),
            )
            if row is None:
                raise RefreshRejected(Rejection.UNKNOWN)
            if row["replaced_by"] is not None:
                await _revoke_family(conn, row["family_id"])
                # Commit the revocation: leave the transaction normally, then refuse.
                rejection = Rejection.REUSED
            elif row["revoked_at"] is not None or row["disabled_at"] is not None:
                rejection = Rejection.REVOKED
            elif row["expired"]:
                rejection = Rejection.EXPIRED
            else:
                successor = _new_token()
                new_id = await conn.fetchval(
                    """INSERT INTO refresh_tokens (user_id, family_id, token_sha256, expires_at)
                       VALUES ($1, $2, $3, now() + $4) RETURNING id""",
                    row["user_id"],
                    row["family_id"],
                    _digest(successor),
                    self._ttl,
                )
                await conn.execute(
                    "UPDATE refresh_tokens SET replaced_by = $2 WHERE id = $1", row["id"], new_id
                )
                return Rotated(row["user_id"], Role(row["role"]), successor)
        raise RefreshRejected(rejection)

    async def revoke_family(self, token: str) -> None:
        """Log-out: end the session ``token`` belongs to (unknown tokens are ignored)."""
        if not token.startswith(_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return
        async with self._pool.acquire() as conn:
            family = await conn.fetchval(
                "SELECT family_id FROM refresh_tokens WHERE token_sha256 = $1", _digest(token)
            )
            if family is not None:
                await _revoke_family(conn, family)


async def _revoke_family(conn: asyncpg.Connection, family_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
    )
