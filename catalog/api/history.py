"""Watch history and resume positions: ``/me/history`` and ``/me/history/{video_id}``.

Private to the caller (every route is under ``/me``). ``PUT /me/history/{video_id}`` is what a
player calls every few seconds with its position (and ``finished: true`` at the end, though
reaching 95 % of the duration counts as finished anyway); ``GET`` answers where to resume. The
list skips videos the caller may no longer watch; deleting an entry works for those too.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r204

from catalog.api.auth import require_user
from catalog.api.context import context
from catalog.api.errors import not_found
from catalog.api.fields import Id, VideoPublicId
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import MediaSeconds, VideoCardOut, watchable_video
from catalog.api.views import ApiModel, ApiView, respond
from catalog.video_listings import scan_visible
from catalog.videos import Videos
from catalog.watch_history import HistoryEntry, WatchedVideo, WatchHistory


class PositionIn(ApiModel):
    position_seconds: MediaSeconds
    finished: bool = False


class ResumeOut(ApiModel):
    video_id: str
    position_seconds: float
    finished: bool
    watched_at: datetime

    @classmethod
    def of(cls, video_id: str, entry: HistoryEntry) -> ResumeOut:
        return cls(
            video_id=video_id,
            position_seconds=entry.position_seconds,
            finished=entry.finished,
            watched_at=entry.watched_at,
        )


class HistoryItemOut(ApiModel):
    video: VideoCardOut
    position_seconds: float
    finished: bool
    watched_at: datetime


class HistoryPage(Page[HistoryItemOut]):
    pass


_BY_TIME: Cursor[tuple[datetime, int]] = Cursor(tuple[datetime, Id])


def _history(request: web.Request) -> WatchHistory:
    return WatchHistory(context(request).pool)


def _key(watched: WatchedVideo) -> tuple[datetime, int]:
    return watched.entry.watched_at, watched.listed.video.id


class HistoryView(ApiView):
    async def get(self, page: PageQuery) -> r200[HistoryPage]:
        """The caller's watch history, most recently watched first.

        Tags: history
        Security: bearer
        """
        principal = require_user(self.request)
        history = _history(self.request)
        items, next_key = await scan_visible(
            lambda after, n: history.recent(principal.user_id, after, n),
            _BY_TIME.decode(page.cursor),
            page.limit,
            video=lambda watched: watched.listed.video,
            key=_key,
            principal=principal,
        )
        out = [
            HistoryItemOut(
                video=VideoCardOut.of(w.listed.video),
                position_seconds=w.entry.position_seconds,
                finished=w.entry.finished,
                watched_at=w.entry.watched_at,
            )
            for w in items
        ]
        next_cursor = _BY_TIME.encode(next_key) if next_key else None
        return respond(HistoryPage(items=out, next_cursor=next_cursor))

    async def delete(self) -> r204:
        """Clear the caller's whole watch history.

        Tags: history
        Security: bearer
        """
        principal = require_user(self.request)
        await _history(self.request).clear(principal.user_id)
        return web.Response(status=204)


class HistoryEntryView(ApiView):
    async def get(self, video_id: VideoPublicId, /) -> r200[ResumeOut]:
        """Where the caller left off in this video (404 if never watched).

        Tags: history
        Security: bearer
        """
        principal = require_user(self.request)
        video = await watchable_video(self.request, video_id)
        entry = await _history(self.request).entry(principal.user_id, video.id)
        if entry is None:
            raise not_found("history entry")
        return respond(ResumeOut.of(video.public_id, entry))

    async def put(self, video_id: VideoPublicId, /, report: PositionIn) -> r200[ResumeOut]:
        """Record the player's position; the video moves to the top of the history.

        Tags: history
        Security: bearer
        """
        principal = require_user(self.request)
        video = await watchable_video(self.request, video_id)
        entry = await _history(self.request).record(
            principal.user_id, video, report.position_seconds, finished=report.finished
        )
        if entry is None:
            raise not_found("video")
        return respond(ResumeOut.of(video.public_id, entry))

    async def delete(self, video_id: VideoPublicId, /) -> r204:
        """Remove one video from the history (also one the caller may no longer watch).

        Tags: history
        Security: bearer
        """
        principal = require_user(self.request)
        video = await Videos(self.ctx.pool).get(video_id)
        # Answering 404 only when there was no entry reveals nothing: an entry means the
        # caller has watched the video.
        if video is None or not await _history(self.request).remove(principal.user_id, video.id):
            raise not_found("history entry")
        return web.Response(status=204)


def add_routes(api: web.Application) -> None:
    api.router.add_view("/me/history", HistoryView)
    api.router.add_view("/me/history/{video_id}", HistoryEntryView)
