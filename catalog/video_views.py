"""Counted views: once per viewer per video per clock hour, after enough watching.

The client reports how many seconds it has watched (a page load is not a view); a report under
:func:`required_seconds` records nothing. The viewer is the account if there is one, else the
session id the client sends, else its address, reduced to 16 bytes of SHA-256 (the table keeps
no addresses or session ids; an IPv4 address can still be found by trying them all, so this is
pseudonymous, not anonymous).

One statement dedupes and counts: it inserts ``(video, viewer, hour)`` with ``ON CONFLICT DO
NOTHING`` and adds 1 to ``videos.view_count`` only if that insert happened. The rows stay, so
trending can count the views of a recent window.
"""

from __future__ import annotations

import hashlib

import asyncpg

from catalog.videos import LOCK_VIDEO, Video

MIN_WATCHED_SECONDS = 10.0

_RECORD = f"""
    WITH target AS ({LOCK_VIDEO}),
    inserted AS (
        INSERT INTO video_views (video_id, viewer, hour)
        SELECT id, $2, date_trunc('hour', now(), 'UTC') FROM target
        ON CONFLICT DO NOTHING RETURNING video_id)
    UPDATE videos v SET view_count = v.view_count + 1 FROM inserted
    WHERE v.id = inserted.video_id RETURNING true"""


def viewer_key(*, user_id: int | None, session_id: str | None, address: str) -> bytes:
    """Who is watching, by the best identity the request offers."""
    if user_id is not None:
        identity = f"user:{user_id}"
    elif session_id is not None:
        identity = f"session:{session_id}"
    else:
        identity = f"ip:{address}"
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).digest()[:16]


def required_seconds(video: Video) -> float:
    """:data:`MIN_WATCHED_SECONDS`, or the whole video when it is shorter than that."""
    if video.duration_seconds is None:
        return MIN_WATCHED_SECONDS
    return min(MIN_WATCHED_SECONDS, video.duration_seconds)


class VideoViews:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, video: Video, viewer: bytes, watched_seconds: float) -> bool:
        """Count a view if it is the viewer's first this hour and long enough; True if counted."""
        if watched_seconds < required_seconds(video):
            return False
        return bool(await self._pool.fetchval(_RECORD, video.id, viewer))
