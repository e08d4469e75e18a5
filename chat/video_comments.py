"""A video room's messages are the video's comments in the catalog: sending posts a
timestamped comment, history is the newest comments, deleting and pinning are the catalog's
(so the REST API and the room always agree)."""

from __future__ import annotations

import asyncpg

from catalog.comments import Comment, Comments, CommentSort
from chat.messages import Badge, ChatMessage
from chat.rooms import Room


class VideoComments:
    def __init__(self, pool: asyncpg.Pool, history_size: int) -> None:
        self._comments = Comments(pool)
        self._history_size = history_size

    async def recent(self, room: Room, viewer_id: int | None) -> list[ChatMessage]:
        assert room.video_id is not None
        if self._history_size == 0:
            return []
        newest = await self._comments.threads(
            room.video_id, sort=CommentSort.NEWEST, after=None, limit=self._history_size,
            viewer_id=viewer_id, with_hidden=False,
        )
        return [ChatMessage.of_comment(str(room.name), c) for c in reversed(newest) if c.live]

    async def post(
        self, room: Room, author_id: int, text: str, timestamp: float | None, badge: Badge | None
    ) -> ChatMessage | None:
        assert room.video_id is not None
        comment = await self._comments.post(room.video_id, author_id, text, timestamp_seconds=timestamp)
        return None if comment is None else ChatMessage.of_comment(str(room.name), comment, badge)

    async def get(self, room: Room, message_id: str) -> Comment | None:
        """The room's live comment with that id (a stream id names no comment)."""
        if not message_id.isdigit():
            return None
        comment = await self._comments.get(int(message_id), None)
        if comment is None or comment.video_id != room.video_id or not comment.live:
            return None
        return comment

    async def delete(self, comment: Comment) -> bool:
        return await self._comments.delete(comment)

    async def pinned(self, room: Room) -> ChatMessage | None:
        assert room.video_id is not None
        comment = await self._comments.pinned(room.video_id, None)
        return None if comment is None else ChatMessage.of_comment(str(room.name), comment)

    async def pin(self, comment: Comment) -> bool:
        return await self._comments.pin(comment)

    async def unpin(self, room: Room) -> None:
        assert room.video_id is not None
        current = await self._comments.pinned(room.video_id, None)
        if current is not None:
            await self._comments.unpin(current)
