"""``GET /search``: find listed videos and streams live right now by text, with filters and three
sorts (see :mod:`catalog.search`).

``type`` chooses what is searched: ``all`` (the default), ``video`` (listed videos: VOD) or
``live`` (streams live at this moment, from the packager's registry). Each result carries a
``kind`` (``"video"`` or ``"live"``) and that kind's card; the OpenAPI document describes the
items as a union discriminated by ``kind``.

- Live results come first (they are what is happening now), ordered by relevance then stream
  name whatever the sort: a stream has no views or upload date. Videos follow in the sort
  asked for.
- The video filters (``min_duration``/``max_duration`` in seconds, ``uploaded``: published
  within the last day, week, month or year, ``category``) are ones a live stream cannot
  satisfy: with any of them set, no live stream is found.
- Paging is keyset across both kinds. A cursor is the last item's kind and key:
  ``["live", relevance, name]`` while the page ended in the live block, then
  ``["video", sort value, video id]``. A page that exhausts the live block is filled with the
  first videos, and a live cursor continues the live block, then starts the videos, so every
  item appears once (streams that go live or end between pages may be missed or vanish). Send
  a cursor back with the same ``q``, ``type``, filters and sort.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200
from pydantic import AwareDatetime, Field

from catalog.api.errors import ApiError
from catalog.api.fields import Id, StreamName, line
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import VideoCardOut
from catalog.api.views import ApiModel, ApiView, respond
from catalog.search import (
    LiveHit,
    LiveSearch,
    SearchFilters,
    SearchHit,
    SearchSort,
    SearchTimedOut,
    VideoSearch,
)

SearchText = Annotated[str, line(100), Field(description="Words, \"a phrase\", or, -word.")]
Seconds = Annotated[float, Field(ge=0, le=10_000_000)]
Relevance = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Uploaded(StrEnum):
    TODAY = "today"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class SearchType(StrEnum):
    ALL = "all"
    VIDEO = "video"
    LIVE = "live"


_WITHIN = {
    Uploaded.TODAY: timedelta(days=1),
    Uploaded.WEEK: timedelta(days=7),
    Uploaded.MONTH: timedelta(days=30),
    Uploaded.YEAR: timedelta(days=365),
}

_LiveKey = tuple[Literal["live"], Relevance, StreamName]
_VIDEO_KEYS: dict[SearchSort, Any] = {
    SearchSort.RELEVANCE: tuple[Literal["video"], Relevance, Id],
    SearchSort.DATE: tuple[Literal["video"], AwareDatetime, Id],
    SearchSort.VIEWS: tuple[Literal["video"], Annotated[int, Field(ge=0, le=2**63 - 1)], Id],
}
_CURSORS: dict[tuple[bool, bool, SearchSort], Cursor[Any]] = {
    (videos, live, sort): Cursor(
        _VIDEO_KEYS[sort] | _LiveKey if videos and live else _VIDEO_KEYS[sort] if videos else _LiveKey
    )
    for videos in (True, False)
    for live in (True, False)
    for sort in SearchSort
    if videos or live
}


class VideoResultOut(VideoCardOut):
    """A listed video (its card, as every list shows it)."""

    kind: Literal["video"]


class LiveResultOut(ApiModel):
    """A stream live right now."""

    kind: Literal["live"]
    name: str
    title: str
    channel: str | None = Field(description="The channel's handle; null for streams made on the command line.")
    channel_title: str | None
    watch_url: str
    playlist_url: str = Field(description="The stream's master playlist (LL-HLS).")


SearchResult = Annotated[VideoResultOut | LiveResultOut, Field(discriminator="kind")]


class SearchPage(Page[SearchResult]):
    pass


class SearchView(ApiView):
    async def get(
        self,
        q: SearchText,
        page: PageQuery,
        sort: SearchSort = SearchSort.RELEVANCE,
        uploaded: Uploaded | None = None,
        min_duration: Seconds | None = None,
        max_duration: Seconds | None = None,
        category: Annotated[str, line(50)] | None = None,
        type: SearchType = SearchType.ALL,  # named after the query parameter; shadows the builtin
    ) -> r200[SearchPage]:
        """Search streams live now (by title, channel title or handle) and public videos (by title,
        tags and description), tolerating typos; live results come first.

        Tags: search
        """
        filters = SearchFilters(
            min_duration=min_duration,
            max_duration=max_duration,
            published_within=_WITHIN[uploaded] if uploaded else None,
            category=category,
        )
        video_only_filter = any(v is not None for v in (uploaded, min_duration, max_duration, category))
        want_videos = type is not SearchType.LIVE
        want_live = type is not SearchType.VIDEO and not video_only_filter
        if not (want_videos or want_live):  # type=live with a filter no stream satisfies
            _CURSORS[False, True, sort].decode(page.cursor)  # still refuse a forged cursor
            return respond(SearchPage(items=[], next_cursor=None))
        cursor = _CURSORS[want_videos, want_live, sort]
        after = cursor.decode(page.cursor)
        found: list[LiveHit | SearchHit] = []
        try:
            if want_live and (after is None or after[0] == "live"):
                found += await LiveSearch(self.ctx.pool).search(
                    q, self.ctx.live_now(), after=after[1:] if after else None, limit=page.limit + 1
                )
            if want_videos and len(found) <= page.limit:
                found += await VideoSearch(self.ctx.pool).search(
                    q,
                    filters,
                    sort=sort,
                    after=after[1:] if after and after[0] == "video" else None,
                    limit=page.limit + 1 - len(found),
                )
        except SearchTimedOut as exc:
            raise ApiError(503, "search_timeout", f"{exc}; try fewer or more precise words") from None
        items, next_cursor = cursor.page(found, page.limit, key=_key)
        return respond(SearchPage(items=[self._result(hit) for hit in items], next_cursor=next_cursor))

    def _result(self, hit: LiveHit | SearchHit) -> VideoResultOut | LiveResultOut:
        if isinstance(hit, SearchHit):
            return VideoResultOut(kind="video", **dict(VideoCardOut.of(hit.video)))
        urls = self.ctx.public_urls()
        return LiveResultOut(
            kind="live",
            name=hit.stream.name,
            title=hit.stream.title,
            channel=hit.channel_handle,
            channel_title=hit.channel_title,
            watch_url=urls.watch(hit.stream.name),
            playlist_url=urls.playlist(hit.stream.name),
        )


def _key(hit: LiveHit | SearchHit) -> tuple[Any, ...]:
    if isinstance(hit, SearchHit):
        return ("video", hit.sort_key, hit.video.id)
    return ("live", hit.relevance, hit.stream.name)


def add_routes(api: web.Application) -> None:
    api.router.add_view("/search", SearchView)
