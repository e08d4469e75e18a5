"""Comments: ``/videos/{video_id}/comments`` and ``/comments/{comment_id}/…``.

- ``GET /videos/{id}/comments?sort=newest|top`` — threads (top-level comments), keyset paged;
  the first page also carries the pinned comment. ``POST`` — a top-level comment.
- ``GET|POST /comments/{id}/replies`` — a thread's replies, oldest first; a reply to a reply
  joins the same thread (two levels, see :mod:`catalog.comments`).
- ``GET|PATCH|DELETE /comments/{id}`` — read; edit (the author); soft delete (the author, the
  channel owner, moderators, admins).
- ``PUT|DELETE /comments/{id}/like``, ``…/pin`` (channel owner), ``…/hide`` (moderators).

Everything answers 404 when the caller may not watch the video (:func:`may_watch`). Deleted
comments keep their place as ``state: "deleted"`` with no text and no author (clients show
"[deleted]"); hidden ones likewise (``"hidden"``), except to moderators and admins. Comments are
plain text: returned exactly as stored, never interpreted as markup.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import structlog
from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r201, r204
from pydantic import AfterValidator, Field

from catalog.access import Principal
from catalog.api.auth import optional_user, require_manager, require_user
from catalog.api.context import context
from catalog.api.errors import conflict, forbidden, not_found
from catalog.api.fields import Id, VideoPublicId, paragraphs
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import MediaSeconds, watchable_video
from catalog.api.views import ApiModel, ApiView, respond
from catalog.comments import (
    MAX_COMMENT_LENGTH,
    Comment,
    Comments,
    CommentSort,
    may_delete,
    may_moderate,
)
from catalog.videos import Video

log = structlog.get_logger(__name__)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("a comment needs more than white space")
    return text


CommentText = Annotated[
    str, paragraphs(MAX_COMMENT_LENGTH), Field(min_length=1), AfterValidator(_not_blank)
]
LikeCount = Annotated[int, Field(ge=0, le=2**63 - 1)]


class NewCommentIn(ApiModel):
    text: CommentText
    timestamp_seconds: MediaSeconds | None = Field(
        default=None, description="The moment of the video the comment is about."
    )


class CommentTextIn(ApiModel):
    text: CommentText


class CommentState(StrEnum):
    VISIBLE = "visible"
    DELETED = "deleted"
    HIDDEN = "hidden"  # by a moderator


class AuthorOut(ApiModel):
    username: str
    display_name: str


class CommentOut(ApiModel):
    id: int
    video_id: str
    thread_id: int | None = Field(description="The thread's top-level comment; null for one.")
    reply_to_id: int | None
    state: CommentState
    text: str | None = Field(description="Null when deleted or hidden: show '[deleted]'.")
    author: AuthorOut | None
    timestamp_seconds: float | None
    like_count: int
    reply_count: int
    liked: bool
    pinned: bool
    created_at: datetime
    edited_at: datetime | None

    @classmethod
    def of(cls, comment: Comment, principal: Principal | None) -> CommentOut:
        if comment.deleted_at is not None:
            state = CommentState.DELETED
        elif comment.hidden_at is not None:
            state = CommentState.HIDDEN
        else:
            state = CommentState.VISIBLE
        shown = state is CommentState.VISIBLE or (
            state is CommentState.HIDDEN and may_moderate(principal)
        )
        return cls(
            id=comment.id,
            video_id=comment.video_public_id,
            thread_id=comment.thread_id,
            reply_to_id=comment.reply_to_id,
            state=state,
            text=comment.body if shown else None,
            author=AuthorOut(username=comment.author_username, display_name=comment.author_display_name)
            if shown
            else None,
            timestamp_seconds=comment.timestamp_seconds,
            like_count=comment.like_count,
            reply_count=comment.reply_count,
            liked=comment.liked,
            pinned=comment.pinned,
            created_at=comment.created_at,
            edited_at=comment.edited_at if shown else None,
        )


class CommentPage(Page[CommentOut]):
    pass


class ThreadPage(CommentPage):
    pinned: CommentOut | None = Field(description="The pinned comment, on the first page only.")


class LikeOut(ApiModel):
    liked: bool
    like_count: int


_NEWEST: Cursor[tuple[int]] = Cursor(tuple[Id])
_TOP: Cursor[tuple[int, int]] = Cursor(tuple[LikeCount, Id])
_THREAD_CURSORS = {CommentSort.NEWEST: _NEWEST, CommentSort.TOP: _TOP}
_REPLIES: Cursor[int] = Cursor(Id)


def _comments(request: web.Request) -> Comments:
    return Comments(context(request).pool)


def _viewer_id(request: web.Request) -> int | None:
    principal = optional_user(request)
    return principal.user_id if principal else None


async def _comment(request: web.Request, comment_id: int) -> tuple[Comment, Video]:
    """The comment and its video, if the caller may watch the video; 404 otherwise."""
    comment = await _comments(request).get(comment_id, _viewer_id(request))
    if comment is None:
        raise not_found("comment")
    return comment, await watchable_video(request, comment.video_public_id, what="comment")


async def _live_comment(request: web.Request, comment_id: int) -> tuple[Comment, Video]:
    """As :func:`_comment`, and neither deleted nor hidden (else 404: it is gone)."""
    comment, video = await _comment(request, comment_id)
    if not comment.live:
        raise not_found("comment")
    return comment, video


def _out(request: web.Request, comment: Comment, status: int = 200) -> web.Response:
    return respond(CommentOut.of(comment, optional_user(request)), status)


class VideoCommentsView(ApiView):
    async def get(
        self, video_id: VideoPublicId, /, page: PageQuery, sort: CommentSort = CommentSort.NEWEST
    ) -> r200[ThreadPage]:
        """A video's comment threads, newest or most liked first; the pinned one apart.

        Tags: comments
        """
        video = await watchable_video(self.request, video_id)
        principal = optional_user(self.request)
        viewer_id = principal.user_id if principal else None
        cursor = _THREAD_CURSORS[sort]
        rows = await _comments(self.request).threads(
            video.id,
            sort=sort,
            after=cursor.decode(page.cursor),
            limit=page.limit + 1,
            viewer_id=viewer_id,
            with_hidden=may_moderate(principal),
        )
        items, next_cursor = cursor.page(rows, page.limit, key=lambda c: c.sort_key(sort))
        pinned = None
        if page.cursor is None:
            pinned = await _comments(self.request).pinned(video.id, viewer_id)
        return respond(
            ThreadPage(
                items=[CommentOut.of(comment, principal) for comment in items],
                next_cursor=next_cursor,
                pinned=CommentOut.of(pinned, principal) if pinned else None,
            )
        )

    async def post(self, video_id: VideoPublicId, /, new: NewCommentIn) -> r201[CommentOut]:
        """Comment on a video.

        Tags: comments
        Security: bearer
        """
        principal = require_user(self.request)
        video = await watchable_video(self.request, video_id)
        comment = await _comments(self.request).post(
            video.id, principal.user_id, new.text, timestamp_seconds=new.timestamp_seconds
        )
        if comment is None:
            raise not_found("video")
        await context(self.request).comment_feed.posted(comment)
        return _out(self.request, comment, 201)


class CommentView(ApiView):
    async def get(self, comment_id: Id, /) -> r200[CommentOut]:
        """One comment (a placeholder if deleted or hidden).

        Tags: comments
        """
        comment, _ = await _comment(self.request, comment_id)
        return _out(self.request, comment)

    async def patch(self, comment_id: Id, /, edit: CommentTextIn) -> r200[CommentOut]:
        """Change the text of one's own comment; ``edited_at`` records when.

        Tags: comments
        Security: bearer
        """
        principal = require_user(self.request)
        comment, _ = await _live_comment(self.request, comment_id)
        if comment.author_id != principal.user_id:
            raise forbidden("only the author may edit a comment")
        edited = await _comments(self.request).edit(comment, edit.text)
        if edited is None:
            raise not_found("comment")
        return _out(self.request, edited)

    async def delete(self, comment_id: Id, /) -> r204:
        """Delete a comment: its place in the thread stays, its text and author go.

        The author, the video's channel owner, moderators and admins may.

        Tags: comments
        Security: bearer
        """
        principal = require_user(self.request)
        comment, video = await _comment(self.request, comment_id)
        if comment.deleted_at is None and not may_delete(comment, video.owner_id, principal):
            raise forbidden("only the author, the channel owner or a moderator may delete this")
        if not await _comments(self.request).delete(comment):
            raise not_found("comment")
        await context(self.request).comment_feed.removed(comment)
        return web.Response(status=204)


class RepliesView(ApiView):
    async def get(self, comment_id: Id, /, page: PageQuery) -> r200[CommentPage]:
        """The replies of a thread (named by its top-level comment), oldest first.

        Tags: comments
        """
        comment, _ = await _comment(self.request, comment_id)
        if comment.thread_id is not None:
            raise not_found("comment thread")
        rows = await _comments(self.request).replies(
            comment.id,
            after=_REPLIES.decode(page.cursor),
            limit=page.limit + 1,
            viewer_id=_viewer_id(self.request),
        )
        items, next_cursor = _REPLIES.page(rows, page.limit, key=lambda c: c.id)
        principal = optional_user(self.request)
        out = [CommentOut.of(reply, principal) for reply in items]
        return respond(CommentPage(items=out, next_cursor=next_cursor))

    async def post(self, comment_id: Id, /, reply: CommentTextIn) -> r201[CommentOut]:
        """Reply to a comment: the reply joins the comment's thread.

        Tags: comments
        Security: bearer
        """
        principal = require_user(self.request)
        comment, video = await _live_comment(self.request, comment_id)
        posted = await _comments(self.request).post(
            video.id, principal.user_id, reply.text, answering=comment
        )
        if posted is None:
            raise not_found("comment")
        await context(self.request).comment_feed.posted(posted)
        return _out(self.request, posted, 201)


class CommentLikeView(ApiView):
    async def put(self, comment_id: Id, /) -> r200[LikeOut]:
        """Like a comment (once per user; repeating changes nothing).

        Tags: comments
        Security: bearer
        """
        return await self._set(comment_id, liked=True)

    async def delete(self, comment_id: Id, /) -> r200[LikeOut]:
        """Take one's like back.

        Tags: comments
        Security: bearer
        """
        return await self._set(comment_id, liked=False)

    async def _set(self, comment_id: int, *, liked: bool) -> web.Response:
        principal = require_user(self.request)
        comment, _ = await _live_comment(self.request, comment_id)
        count = await _comments(self.request).set_liked(comment, principal.user_id, liked)
        if count is None:
            raise not_found("comment")
        return respond(LikeOut(liked=liked, like_count=count))


class CommentPinView(ApiView):
    async def put(self, comment_id: Id, /) -> r204:
        """Pin a top-level comment to the top of its video's threads (the channel owner; one
        per video: pinning another unpins the previous one).

        Tags: comments
        Security: bearer
        """
        comment, video = await _live_comment(self.request, comment_id)
        require_manager(self.request, video.owner_id, hidden=False, what="video")
        if comment.thread_id is not None or not await _comments(self.request).pin(comment):
            raise conflict("not_pinnable", "only a visible top-level comment can be pinned")
        return web.Response(status=204)

    async def delete(self, comment_id: Id, /) -> r204:
        """Unpin a comment (the channel owner).

        Tags: comments
        Security: bearer
        """
        comment, video = await _comment(self.request, comment_id)
        require_manager(self.request, video.owner_id, hidden=False, what="video")
        await _comments(self.request).unpin(comment)
        return web.Response(status=204)


class CommentHideView(ApiView):
    async def put(self, comment_id: Id, /) -> r204:
        """Hide a comment from everyone but moderators (moderators and admins).

        Tags: comments
        Security: bearer
        """
        await self._set(comment_id, hidden=True)
        return web.Response(status=204)

    async def delete(self, comment_id: Id, /) -> r204:
        """Show a hidden comment again (moderators and admins).

        Tags: comments
        Security: bearer
        """
        await self._set(comment_id, hidden=False)
        return web.Response(status=204)

    async def _set(self, comment_id: int, *, hidden: bool) -> None:
        principal = require_user(self.request)
        comment, _ = await _comment(self.request, comment_id)
        if not may_moderate(principal):
            raise forbidden("only moderators may hide comments")
        if comment.deleted_at is not None:
            raise not_found("comment")
        await _comments(self.request).set_hidden(comment, hidden)
        if hidden:
            await context(self.request).comment_feed.removed(comment)
        log.info("comments.moderated", comment_id=comment.id, hidden=hidden, by=principal.user_id)


def add_routes(api: web.Application) -> None:
    api.router.add_view("/videos/{video_id}/comments", VideoCommentsView)
    api.router.add_view("/comments/{comment_id}", CommentView)
    api.router.add_view("/comments/{comment_id}/replies", RepliesView)
    api.router.add_view("/comments/{comment_id}/like", CommentLikeView)
    api.router.add_view("/comments/{comment_id}/pin", CommentPinView)
    api.router.add_view("/comments/{comment_id}/hide", CommentHideView)
