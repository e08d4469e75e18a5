"""Playlists, including each user's "watch later", and their ordered items.

Privacy means what it means for videos: private playlists are seen by their owner (and
admins), unlisted ones by anyone with the id, public ones are also listed on the owner's
channel. Watch later is a private playlist of kind ``watch_later``, made on first use, that
cannot be renamed, published or deleted.

Ordering: each item has a sparse ``position`` ≥ 1 (multiples of :data:`GAP` when appended).
Moving an item takes the midpoint between its new neighbours; only when two neighbours are
adjacent numbers is the playlist renumbered. Every change of items locks the playlist's row, so
concurrent appends get distinct, increasing positions and a move sees a stable neighbourhood.
Item listings page by position.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from catalog.access import Principal, may_manage
from catalog.video_listings import VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo
from catalog.videos import Privacy

PUBLIC_ID_PATTERN = r"^[A-Za-z0-9_-]{16}$"
MAX_ITEMS = 5000
GAP = 1 << 16
WATCH_LATER_TITLE = "Watch later"
_PUBLIC_ID_ATTEMPTS = 5
_SELECT = """
    SELECT p.id, p.public_id, p.owner_id, u.username AS owner_username, p.kind, p.title,
           p.description, p.privacy, p.created_at, p.updated_at,
           (SELECT count(*) FROM playlist_items i WHERE i.playlist_id = p.id) AS item_count
    FROM playlists p JOIN users u ON u.id = p.owner_id"""


class PlaylistKind(StrEnum):
    REGULAR = "regular"
    WATCH_LATER = "watch_later"


class PlaylistFull(ValueError):
    pass


class AlreadyInPlaylist(ValueError):
    pass


class NotInPlaylist(LookupError):
    """The video an item should move after is not in the playlist."""

    def __init__(self) -> None:
        super().__init__("the video to move after is not in this playlist")


@dataclass(frozen=True, slots=True)
class Playlist:
    id: int
    public_id: str
    owner_id: int
    owner_username: str
    kind: PlaylistKind
    title: str
    description: str
    privacy: Privacy
    item_count: int  # every item, including videos the reader may not watch
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Playlist:
        return cls(**{**row, "kind": PlaylistKind(row["kind"]), "privacy": Privacy(row["privacy"])})


@dataclass(frozen=True, slots=True)
class PlaylistItem:
    listed: ListedVideo
    position: int
    added_at: datetime


def may_view_playlist(playlist: Playlist, principal: Principal | None) -> bool:
    """Private: the owner and admins; unlisted and public: anyone with the id."""
    return playlist.privacy is not Privacy.PRIVATE or may_manage(principal, playlist.owner_id)


def between(lower: int | None, upper: int | None) -> int | None:
    """A position strictly between two neighbours' (None: no neighbour that side; positions
    are at least 1), or None if there is no room and the playlist must be renumbered first."""
    low = lower or 0
    if upper is None:
        return low + GAP
    return (low + upper) // 2 if upper - low > 1 else None


async def _lock(conn: asyncpg.Connection, playlist: Playlist) -> bool:
    """Lock the playlist's row; False if the playlist is gone (deleted meanwhile)."""
    locked = await conn.fetchval(
        "SELECT true FROM playlists WHERE id = $1 FOR NO KEY UPDATE", playlist.id
    )
    return bool(locked)


async def _position(conn: asyncpg.Connection, playlist: Playlist, video_id: int) -> int | None:
    return await conn.fetchval(
        "SELECT position FROM playlist_items WHERE playlist_id = $1 AND video_id = $2",
        playlist.id,
        video_id,
    )


async def _neighbours(
    conn: asyncpg.Connection, playlist: Playlist, moving_id: int, after_id: int | None
) -> tuple[int | None, int | None]:
    """Positions the moving item must go between: ``after_id``'s and the next one's."""
    lower = None
    if after_id is not None:
        lower = await _position(conn, playlist, after_id)
        if lower is None:
            raise NotInPlaylist()
    upper = await conn.fetchval(
        """SELECT min(position) FROM playlist_items
           WHERE playlist_id = $1 AND video_id <> $2 AND ($3::bigint IS NULL OR position > $3)""",
        playlist.id,
        moving_id,
        lower,
    )
    return lower, upper


class Playlists:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, owner_id: int, title: str, *, description: str = "", privacy: Privacy = Privacy.PRIVATE
    ) -> Playlist:
        playlist_id = await self._insert(owner_id, PlaylistKind.REGULAR, title, description, privacy)
        return await self._one("p.id = $1", playlist_id)

    async def get(self, public_id: str) -> Playlist | None:
        return await self._find("p.public_id = $1", public_id)

    async def watch_later(self, owner_id: int) -> Playlist:
        """The user's watch later playlist, made now if this is its first use."""
        condition = "p.owner_id = $1 AND p.kind = 'watch_later'"
        found = await self._find(condition, owner_id)
        if found is None:
            await self._insert(owner_id, PlaylistKind.WATCH_LATER, WATCH_LATER_TITLE, "", Privacy.PRIVATE)
            found = await self._one(condition, owner_id)  # ours, or a concurrent request's
        return found

    async def of_owner(
        self, owner_id: int, *, public_only: bool, after: int | None, limit: int
    ) -> list[Playlist]:
        """The owner's playlists (or only the public ones), newest first."""
        rows = await self._pool.fetch(
            f"""{_SELECT}
                WHERE p.owner_id = $1 AND (NOT $2 OR p.privacy = 'public') AND p.id < $3
                ORDER BY p.id DESC LIMIT $4""",
            owner_id,
            public_only,
            after or 2**63 - 1,
            limit,
        )
        return [Playlist.from_row(row) for row in rows]

    async def update(
        self,
        playlist: Playlist,
        *,
        title: str | None = None,
        description: str | None = None,
        privacy: Privacy | None = None,
    ) -> Playlist | None:
        """Change the given fields of a regular playlist; None if it is gone."""
        changed = await self._pool.fetchval(
            """UPDATE playlists SET title = coalesce($2, title),
                                    description = coalesce($3, description),
                                    privacy = coalesce($4::video_privacy, privacy),
                                    updated_at = now()
               WHERE id = $1 AND kind = 'regular' RETURNING true""",
            playlist.id,
            title,
            description,
            privacy.value if privacy else None,
        )
        return await self._find("p.id = $1", playlist.id) if changed else None

    async def delete(self, playlist: Playlist) -> bool:
        deleted = await self._pool.fetchval(
            "DELETE FROM playlists WHERE id = $1 AND kind = 'regular' RETURNING true", playlist.id
        )
        return bool(deleted)

    async def items(self, playlist: Playlist, after: int | None, limit: int) -> list[PlaylistItem]:
        """Items in playlist order after position ``after`` (every video: callers filter)."""
        rows = await self._pool.fetch(
            f"""SELECT {VIDEO_COLUMNS}, i.position, i.added_at
                FROM playlist_items i JOIN ({VIDEO_JOIN}) ON v.id = i.video_id
                WHERE i.playlist_id = $1 AND ($2::bigint IS NULL OR i.position > $2)
                ORDER BY i.position LIMIT $3""",
            playlist.id,
            after,
            limit,
        )
        return [PlaylistItem(ListedVideo.from_row(row), row["position"], row["added_at"]) for row in rows]

    async def add(self, playlist: Playlist, video_id: int) -> bool:
        """Append a video; False if the playlist or the video is gone. Raises
        :class:`AlreadyInPlaylist` or :class:`PlaylistFull`."""
        async with self._pool.acquire() as conn, conn.transaction():
            video_there = await conn.fetchval(
                "SELECT true FROM videos WHERE id = $1 FOR KEY SHARE", video_id
            )
            if not (video_there and await _lock(conn, playlist)):
                return False
            count, last = await conn.fetchrow(
                "SELECT count(*), max(position) FROM playlist_items WHERE playlist_id = $1",
                playlist.id,
            )
            if await _position(conn, playlist, video_id) is not None:
                raise AlreadyInPlaylist("the video is already in this playlist")
            if count >= MAX_ITEMS:
                raise PlaylistFull(f"a playlist holds at most {MAX_ITEMS} videos")
            await conn.execute(
                "INSERT INTO playlist_items (playlist_id, video_id, position) VALUES ($1, $2, $3)",
                playlist.id,
                video_id,
                between(last, None),
            )
            return True

    async def remove(self, playlist: Playlist, video_id: int) -> bool:
        deleted = await self._pool.fetchval(
            "DELETE FROM playlist_items WHERE playlist_id = $1 AND video_id = $2 RETURNING true",
            playlist.id,
            video_id,
        )
        return bool(deleted)

    async def move(self, playlist: Playlist, video_id: int, after_id: int | None) -> bool:
        """Move an item right after the item of ``after_id`` (None: to the top).

        False if ``video_id`` is not in the playlist; :class:`NotInPlaylist` if ``after_id`` is
        not.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            if not await _lock(conn, playlist) or await _position(conn, playlist, video_id) is None:
                return False
            if after_id == video_id:
                return True
            position = between(*await _neighbours(conn, playlist, video_id, after_id))
            if position is None:
                await self._renumber(conn, playlist)
                position = between(*await _neighbours(conn, playlist, video_id, after_id))
            await conn.execute(
                "UPDATE playlist_items SET position = $3 WHERE playlist_id = $1 AND video_id = $2",
                playlist.id,
                video_id,
                position,
            )
            return True

    @staticmethod
    async def _renumber(conn: asyncpg.Connection, playlist: Playlist) -> None:
        """Spread positions to multiples of :data:`GAP`, keeping the order."""
        await conn.execute(
            """UPDATE playlist_items i SET position = r.rank * $2
               FROM (SELECT video_id, row_number() OVER (ORDER BY position) AS rank
                     FROM playlist_items WHERE playlist_id = $1) r
               WHERE i.playlist_id = $1 AND i.video_id = r.video_id""",
            playlist.id,
            GAP,
        )

    async def _insert(
        self, owner_id: int, kind: PlaylistKind, title: str, description: str, privacy: Privacy
    ) -> int | None:
        """A new playlist's id; None if it is a watch later the owner already has."""
        for _ in range(_PUBLIC_ID_ATTEMPTS):
            try:
                return await self._pool.fetchval(
                    """INSERT INTO playlists (public_id, owner_id, kind, title, description, privacy)
                       VALUES ($1, $2, $3, $4, $5, $6)
                       ON CONFLICT (owner_id) WHERE kind = 'watch_later' DO NOTHING
                       RETURNING id""",
                    secrets.token_urlsafe(12),
                    owner_id,
                    kind.value,
                    title,
                    description,
                    privacy.value,
                )
            except asyncpg.UniqueViolationError:
                continue  # a public id collision (2^-96 per pair): draw again
        raise RuntimeError("could not draw an unused public id")

    async def _find(self, condition: str, *args: object) -> Playlist | None:
        row = await self._pool.fetchrow(f"{_SELECT} WHERE {condition}", *args)
        return Playlist.from_row(row) if row else None

    async def _one(self, condition: str, *args: object) -> Playlist:
        found = await self._find(condition, *args)
        assert found is not None, condition  # made by this module a moment ago
        return found
