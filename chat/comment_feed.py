"""Comments made through the REST API, announced to the video's room as they happen.

The emit goes through the chat server's Redis manager, so the clients of every chat node hear
it. An announcement that fails (Redis away) is logged and dropped: the comment is stored
either way, and clients reload comments from the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
import structlog

from catalog.comments import Comment
from chat.messages import ChatMessage

log = structlog.get_logger(__name__)

Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]


def video_room(public_id: str) -> str:
    return f"video:{public_id}"


class CommentAnnouncer:
    """:class:`catalog.api.context.CommentFeed` for chat rooms."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit

    async def posted(self, comment: Comment) -> None:
        room = video_room(comment.video_public_id)
        await self._announce("message", ChatMessage.of_comment(room, comment).payload(), room)

    async def removed(self, comment: Comment) -> None:
        room = video_room(comment.video_public_id)
        await self._announce("deleted", {"room": room, "id": str(comment.id)}, room)

    async def _announce(self, event: str, data: dict[str, Any], room: str) -> None:
        try:
            await self._emit(event, data, room)
        except (redis.RedisError, OSError) as exc:
            log.warning("chat.comment_announce_failed", room=room, error=str(exc))
