"""User accounts: create (with a channel for creators, atomically), find for log-in, rehash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from catalog.access import Role
from catalog.channels import Channel, insert_channel

USERNAME_PATTERN = r"^[A-Za-z0-9_]{3,30}$"
_COLUMNS = "id, email, username, display_name, role, created_at, disabled_at"


class AccountExists(ValueError):
    """The e-mail address or the user name is taken."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    username: str
    display_name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> User:
        return cls(
            id=row["id"],
            email=row["email"],
            username=row["username"],
            display_name=row["display_name"],
            role=Role(row["role"]),
            created_at=row["created_at"],
            disabled_at=row["disabled_at"],
        )


@dataclass(frozen=True, slots=True)
class Credentials:
    user: User
    password_hash: str


@dataclass(frozen=True, slots=True)
class NewChannel:
    handle: str
    title: str


class Accounts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self,
        *,
        email: str,
        username: str,
        display_name: str,
        password_hash: str,
        role: Role,
        channel: NewChannel | None = None,
    ) -> tuple[User, Channel | None]:
        """One transaction: a creator never exists without their channel, nor the reverse.

        Raises :class:`AccountExists` or :class:`catalog.channels.HandleTaken`.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    f"""INSERT INTO users (email, username, display_name, password_hash, role)
                        VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}""",
                    email,
                    username,
                    display_name,
                    password_hash,
                    role.value,
                )
            except asyncpg.UniqueViolationError:
                raise AccountExists("an account with this e-mail address or user name exists") from None
            user = User.from_row(row)
            made = None
            if channel is not None:
                made = await insert_channel(conn, user.id, channel.handle, channel.title)
        return user, made

    async def credentials(self, email: str) -> Credentials | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS}, password_hash FROM users WHERE email = $1", email
        )
        return Credentials(User.from_row(row), row["password_hash"]) if row else None

    async def get(self, user_id: int) -> User | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id)
        return User.from_row(row) if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self._pool.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash
        )
