"""``GET /search``: find listed videos by text, with filters and three sorts (see
:mod:`catalog.search`).

Filters: ``min_duration``/``max_duration`` (seconds), ``uploaded`` (published within the last
day, week, month or year), ``category``, and ``type``. ``type`` is ``video`` only: the catalog
holds videos, and streams live right now are listed by ``GET /live-now``. Paging is keyset on
the sort's value and the video id: send a cursor back with the same ``q``, filters and sort.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200
from pydantic import AwareDatetime, Field

from catalog.api.errors import ApiError
from catalog.api.fields import Id, line
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import VideoCardOut
from catalog.api.views import ApiView, respond
from catalog.search import SearchFilters, SearchSort, SearchTimedOut, SortKey, VideoSearch

SearchText = Annotated[str, line(100), Field(description="Words, \"a phrase\", or, -word.")]
Seconds = Annotated[float, Field(ge=0, le=10_000_000)]


class Uploaded(StrEnum):
    TODAY = "today"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


_WITHIN = {
    Uploaded.TODAY: timedelta(days=1),
    Uploaded.WEEK: timedelta(days=7),
    Uploaded.MONTH: timedelta(days=30),
    Uploaded.YEAR: timedelta(days=365),
}
_CURSORS: dict[SearchSort, Cursor[tuple[SortKey, int]]] = {
    SearchSort.RELEVANCE: Cursor(tuple[float, Id]),
    SearchSort.DATE: Cursor(tuple[AwareDatetime, Id]),
    SearchSort.VIEWS: Cursor(tuple[Annotated[int, Field(ge=0, le=2**63 - 1)], Id]),
}


class SearchPage(Page[VideoCardOut]):
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
        type: Literal["video"] = "video",  # named after the query parameter; shadows the builtin
    ) -> r200[SearchPage]:
        """Search public videos by title, tags and description, tolerating typos in titles.

        Tags: search
        """
        filters = SearchFilters(
            min_duration=min_duration,
            max_duration=max_duration,
            published_within=_WITHIN[uploaded] if uploaded else None,
            category=category,
        )
        cursor = _CURSORS[sort]
        try:
            hits = await VideoSearch(self.ctx.pool).search(
                q, filters, sort=sort, after=cursor.decode(page.cursor), limit=page.limit + 1
            )
        except SearchTimedOut as exc:
            raise ApiError(503, "search_timeout", f"{exc}; try fewer or more precise words") from None
        items, next_cursor = cursor.page(hits, page.limit, key=lambda hit: (hit.sort_key, hit.video.id))
        cards = [VideoCardOut.of(hit.video) for hit in items]
        return respond(SearchPage(items=cards, next_cursor=next_cursor))


def add_routes(api: web.Application) -> None:
    api.router.add_view("/search", SearchView)
