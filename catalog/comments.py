"""Comments on videos: two-level threads, likes, one pin per video, soft delete and moderation.

Depth model (as on YouTube): a top-level comment starts a thread; a reply to any comment of a
thread joins that thread (flat, oldest first) and remembers which comment it answers
(``reply_to_id``). Two levels keep threads readable on a phone and make "replies of a thread"
one indexed range.

Counters (``videos.comment_count``, a thread's ``reply_count``, a comment's ``like_count``) change
in the transaction that changes what they count. Writes that touch the video's counter, and
pins, lock the video row first (:data:`catalog.videos.LOCK_VIDEO`, the catalog's lock order):
posts serialize on it anyway, and one order means no deadlocks between posting, deleting,
hiding, pinning and deleting the video.

The rules of who may do what are here too (no HTTP, no SQL), next to the data they judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from catalog.access import Principal, Role, may_manage
from catalog.counted_memberships import CountedMembership
from catalog.videos import LOCK_VIDEO

MAX_COMMENT_LENGTH = 10_000


class CommentSort(StrEnum):
    NEWEST = "newest"
    TOP = "top"  # most liked first


_LIKES = CountedMembership(
    "comment_likes", "comment_id", "comments", "like_count",
    open_when="deleted_at IS NULL AND hidden_at IS NULL",
)
_ORDER = {CommentSort.NEWEST: ("c.id",), CommentSort.TOP: ("c.like_count", "c.id")}

# $1 is always the viewer (None when anonymous), for "liked".
_SELECT = """
    SELECT c.id, c.video_id, v.public_id AS video_public_id, c.author_id,
           u.username AS author_username, u.display_name AS author_display_name,
           c.thread_id, c.reply_to_id, c.body, c.timestamp_seconds, c.like_count, c.reply_count,
           c.created_at, c.edited_at, c.deleted_at, c.hidden_at, c.pinned_at IS NOT NULL AS pinned,
           EXISTS (SELECT 1 FROM comment_likes l WHERE l.comment_id = c.id AND l.user_id = $1)
               AS liked
    FROM comments c JOIN users u ON u.id = c.author_id JOIN videos v ON v.id = c.video_id"""


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    video_id: int
    video_public_id: str
    author_id: int
    author_username: str
    author_display_name: str
    thread_id: int | None  # None: a top-level comment
    reply_to_id: int | None
    body: str  # '' once deleted
    timestamp_seconds: float | None
    like_count: int
    reply_count: int
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    hidden_at: datetime | None
    pinned: bool
    liked: bool  # by the viewer the comment was read for

    @property
    def live(self) -> bool:
        """Neither deleted nor hidden: the comment counts, and may be liked, edited, answered."""
        return self.deleted_at is None and self.hidden_at is None

    def sort_key(self, sort: CommentSort) -> tuple[int, ...]:
        return (self.id,) if sort is CommentSort.NEWEST else (self.like_count, self.id)


def may_moderate(principal: Principal | None) -> bool:
    """Moderators and admins hide comments and see hidden ones."""
    return principal is not None and principal.role in (Role.MODERATOR, Role.ADMIN)


def may_delete(comment: Comment, video_owner_id: int, principal: Principal) -> bool:
    """The author, the video's channel owner (or an admin), or a moderator."""
    return (
        comment.author_id == principal.user_id
        or may_manage(principal, video_owner_id)
        or may_moderate(principal)
    )


async def _get(
    db: asyncpg.Pool | asyncpg.Connection, comment_id: int, viewer_id: int | None
) -> Comment | None:
    row = await db.fetchrow(f"{_SELECT} WHERE c.id = $2", viewer_id, comment_id)
    return Comment(**row) if row else None


async def _count(conn: asyncpg.Connection, video_id: int, thread_id: int | None, delta: int) -> None:
    """Move the video's comment count, and the thread's reply count for a reply, by ``delta``."""
    await conn.execute(
        "UPDATE videos SET comment_count = comment_count + $2 WHERE id = $1", video_id, delta
    )
    if thread_id is not None:
        await conn.execute(
            "UPDATE comments SET reply_count = reply_count + $2 WHERE id = $1", thread_id, delta
        )


async def _lock_video(conn: asyncpg.Connection, video_id: int) -> bool:
    """Lock the video's row; False if the video is gone (deleted meanwhile)."""
    return await conn.fetchval(LOCK_VIDEO, video_id) is not None


class Comments:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, comment_id: int, viewer_id: int | None) -> Comment | None:
        return await _get(self._pool, comment_id, viewer_id)

    async def threads(
        self,
        video_id: int,
        *,
        sort: CommentSort,
        after: tuple[int, ...] | None,
        limit: int,
        viewer_id: int | None,
        with_hidden: bool,
    ) -> list[Comment]:
        """Top-level comments but the pinned one, in ``sort`` order, after the key ``after``.

        Deleted (and, unless ``with_hidden``, hidden) ones stay only while live replies hang on
        them, as placeholders.
        """
        order = _ORDER[sort]
        args: list[object] = [viewer_id, video_id, with_hidden, limit]
        after_clause = ""
        if after is not None:
            slots = ", ".join(f"${len(args) + 1 + i}" for i in range(len(after)))
            after_clause = f"AND ({', '.join(order)}) < ({slots})"
            args += after
        rows = await self._pool.fetch(
            f"""{_SELECT}
                WHERE c.video_id = $2 AND c.thread_id IS NULL AND c.pinned_at IS NULL
                  AND (c.deleted_at IS NULL AND (c.hidden_at IS NULL OR $3) OR c.reply_count > 0)
                  {after_clause}
                ORDER BY {', '.join(f'{column} DESC' for column in order)} LIMIT $4""",
            *args,
        )
        return [Comment(**row) for row in rows]

    async def pinned(self, video_id: int, viewer_id: int | None) -> Comment | None:
        row = await self._pool.fetchrow(
            f"{_SELECT} WHERE c.video_id = $2 AND c.pinned_at IS NOT NULL", viewer_id, video_id
        )
        return Comment(**row) if row else None

    async def replies(
        self, thread_id: int, *, after: int | None, limit: int, viewer_id: int | None
    ) -> list[Comment]:
        """A thread's replies, oldest first, placeholders of deleted and hidden ones included."""
        rows = await self._pool.fetch(
            f"""{_SELECT} WHERE c.thread_id = $2 AND c.id > $3 ORDER BY c.id LIMIT $4""",
            viewer_id,
            thread_id,
            after or 0,
            limit,
        )
        return [Comment(**row) for row in rows]

    async def post(
        self,
        video_id: int,
        author_id: int,
        body: str,
        *,
        timestamp_seconds: float | None = None,
        answering: Comment | None = None,
    ) -> Comment | None:
        """A top-level comment, or a reply ``answering`` a comment (joining its thread); None
        if the video is gone."""
        thread_id = None if answering is None else answering.thread_id or answering.id
        async with self._pool.acquire() as conn, conn.transaction():
            if not await _lock_video(conn, video_id):
                return None
            await _count(conn, video_id, thread_id, +1)
            comment_id = await conn.fetchval(
                """INSERT INTO comments (video_id, author_id, thread_id, reply_to_id, body,
                                         timestamp_seconds)
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
                video_id,
                author_id,
                thread_id,
                answering.id if answering else None,
                body,
                timestamp_seconds,
            )
            return await _get(conn, comment_id, author_id)

    async def edit(self, comment: Comment, body: str) -> Comment | None:
        """New text for a live comment; None if it was deleted or hidden meanwhile."""
        async with self._pool.acquire() as conn, conn.transaction():
            changed = await conn.fetchval(
                """UPDATE comments SET body = $2, edited_at = now()
                   WHERE id = $1 AND deleted_at IS NULL AND hidden_at IS NULL RETURNING true""",
                comment.id,
                body,
            )
            return await _get(conn, comment.id, comment.author_id) if changed else None

    async def delete(self, comment: Comment) -> bool:
        """Erase the text, keep the place; False if it was already deleted."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _lock_video(conn, comment.video_id)
            was_live = await conn.fetchval(
                """UPDATE comments SET deleted_at = now(), body = '', pinned_at = NULL
                   WHERE id = $1 AND deleted_at IS NULL RETURNING hidden_at IS NULL""",
                comment.id,
            )
            if was_live:
                await _count(conn, comment.video_id, comment.thread_id, -1)
        return was_live is not None

    async def set_hidden(self, comment: Comment, hidden: bool) -> None:
        """Hide (a moderator's decision; the text stays) or show again. Idempotent."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _lock_video(conn, comment.video_id)
            counted = await conn.fetchval(
                """UPDATE comments
                   SET hidden_at = CASE WHEN $2 THEN now() END,
                       pinned_at = CASE WHEN $2 THEN NULL ELSE pinned_at END
                   WHERE id = $1 AND (hidden_at IS NULL) = $2 RETURNING deleted_at IS NULL""",
                comment.id,
                hidden,
            )
            if counted:
                await _count(conn, comment.video_id, comment.thread_id, -1 if hidden else +1)

    async def pin(self, comment: Comment) -> bool:
        """Pin a live top-level comment, unpinning the video's previous one; False (and no
        change) if the comment cannot be pinned."""
        async with self._pool.acquire() as conn, conn.transaction():
            # Deleting and hiding lock the video too, so the check holds until the commit.
            await _lock_video(conn, comment.video_id)
            pinnable = await conn.fetchval(
                """SELECT true FROM comments WHERE id = $1 AND thread_id IS NULL
                   AND deleted_at IS NULL AND hidden_at IS NULL""",
                comment.id,
            )
            if not pinnable:
                return False
            await conn.execute(
                """UPDATE comments SET pinned_at = NULL
                   WHERE video_id = $1 AND pinned_at IS NOT NULL AND id <> $2""",
                comment.video_id,
                comment.id,
            )
            await conn.execute(
                "UPDATE comments SET pinned_at = coalesce(pinned_at, now()) WHERE id = $1", comment.id
            )
            return True

    async def unpin(self, comment: Comment) -> None:
        await self._pool.execute("UPDATE comments SET pinned_at = NULL WHERE id = $1", comment.id)

    async def set_liked(self, comment: Comment, user_id: int, liked: bool) -> int | None:
        """Like (one per user) or unlike; idempotent. Returns the comment's like count, or None
        if the comment is no longer live."""
        return await _LIKES.set(self._pool, comment.id, user_id, liked)
