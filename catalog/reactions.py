"""Likes and dislikes: one reaction per user per video, switchable and removable.

``videos.like_count``/``dislike_count`` change in the same statement as the reaction row and
only by what that row really changed, so concurrent and repeated requests leave them exact:

- set: ``INSERT … ON CONFLICT DO UPDATE … WHERE kind <> new kind`` returns a row only if
  something changed, and ``xmax = 0`` tells an insert (+1 new kind) from a switch (+1 new
  kind, -1 the other): PostgreSQL's upsert leaves the row's lock in ``xmax`` when it updates.
- remove: ``DELETE … RETURNING kind`` returns the kind only if a row was removed.

Both lock the video's row first (:data:`catalog.videos.LOCK_VIDEO`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from catalog.videos import LOCK_VIDEO


class Reaction(StrEnum):
    """Mirrors the ``reaction_kind`` enum in PostgreSQL."""

    LIKE = "like"
    DISLIKE = "dislike"


@dataclass(frozen=True, slots=True)
class ReactionState:
    """A user's reaction to a video (None: none) and the video's counters."""

    reaction: Reaction | None
    like_count: int
    dislike_count: int


_SET = f"""
    WITH target AS ({LOCK_VIDEO}),
    changed AS (
        INSERT INTO video_reactions AS r (video_id, user_id, kind)
        SELECT id, $2, $3 FROM target
        ON CONFLICT (video_id, user_id)
            DO UPDATE SET kind = EXCLUDED.kind, created_at = now() WHERE r.kind <> EXCLUDED.kind
        RETURNING r.kind, r.xmax = 0 AS inserted)
    UPDATE videos v
    SET like_count = v.like_count + (c.kind = 'like')::int
                     - (c.kind = 'dislike' AND NOT c.inserted)::int,
        dislike_count = v.dislike_count + (c.kind = 'dislike')::int
                        - (c.kind = 'like' AND NOT c.inserted)::int
    FROM changed c WHERE v.id = $1
    RETURNING c.kind, v.like_count, v.dislike_count"""

_REMOVE = f"""
    WITH target AS ({LOCK_VIDEO}),
    removed AS (
        DELETE FROM video_reactions r USING target t
        WHERE r.video_id = t.id AND r.user_id = $2 RETURNING r.kind)
    UPDATE videos v
    SET like_count = v.like_count - (r.kind = 'like')::int,
        dislike_count = v.dislike_count - (r.kind = 'dislike')::int
    FROM removed r WHERE v.id = $1
    RETURNING NULL AS kind, v.like_count, v.dislike_count"""

_STATE = """
    SELECT r.kind, v.like_count, v.dislike_count FROM videos v
    LEFT JOIN video_reactions r ON r.video_id = v.id AND r.user_id = $2
    WHERE v.id = $1"""


def _state(row: asyncpg.Record) -> ReactionState:
    kind = row["kind"]
    return ReactionState(Reaction(kind) if kind else None, row["like_count"], row["dislike_count"])


class Reactions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def set(self, video_id: int, user_id: int, reaction: Reaction) -> ReactionState | None:
        """Like or dislike (replacing the other); None if the video is gone."""
        return await self._change(_SET, video_id, user_id, reaction.value)

    async def remove(self, video_id: int, user_id: int) -> ReactionState | None:
        """Take back a reaction, if any; None if the video is gone."""
        return await self._change(_REMOVE, video_id, user_id)

    async def state(self, video_id: int, user_id: int) -> ReactionState | None:
        row = await self._pool.fetchrow(_STATE, video_id, user_id)
        return _state(row) if row else None

    async def _change(self, sql: str, video_id: int, user_id: int, *args: object) -> ReactionState | None:
        row = await self._pool.fetchrow(sql, video_id, user_id, *args)
        if row is None:  # nothing to change (or the video is gone): report how things stand
            return await self.state(video_id, user_id)
        return _state(row)
