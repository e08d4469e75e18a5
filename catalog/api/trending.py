"""``GET /trending``: the hottest public videos (formula in :mod:`catalog.trending`).

The API application owns the task that refreshes the scores: it starts with the application,
refreshes at once and then every :data:`~catalog.trending.REFRESH_INTERVAL`, and is cancelled
on shutdown (before the node closes the pool).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from aiohttp_pydantic.oas.typing import r200

from catalog.api.context import CONTEXT
from catalog.api.fields import Id
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import VideoCardOut
from catalog.api.views import ApiView, respond
from catalog.trending import REFRESH_INTERVAL, HotScores

log = structlog.get_logger(__name__)

_BY_SCORE: Cursor[tuple[float, int]] = Cursor(tuple[float, Id])


class TrendingPage(Page[VideoCardOut]):
    pass


class TrendingView(ApiView):
    async def get(self, page: PageQuery) -> r200[TrendingPage]:
        """Videos gaining views, likes and comments fastest for their age, hottest first.

        Tags: search
        """
        rows = await HotScores(self.ctx.pool).top(after=_BY_SCORE.decode(page.cursor), limit=page.limit + 1)
        items, next_cursor = _BY_SCORE.page(rows, page.limit, key=lambda hot: (hot.score, hot.video.id))
        cards = [VideoCardOut.of(hot.video) for hot in items]
        return respond(TrendingPage(items=cards, next_cursor=next_cursor))


async def _keep_scores_fresh(scores: HotScores) -> None:
    while True:
        started = time.monotonic()
        try:
            kept, dropped = await scores.refresh()
        except Exception:  # a failed round (the database restarting, say): the next one retries
            log.exception("trending.refresh_failed")
        else:
            log.debug("trending.refreshed", videos=kept, dropped=dropped,
                      seconds=round(time.monotonic() - started, 3))
        await asyncio.sleep(REFRESH_INTERVAL.total_seconds())


async def _refresher(api: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_keep_scores_fresh(HotScores(api[CONTEXT].pool)))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def add_routes(api: web.Application) -> None:
    api.router.add_view("/trending", TrendingView)
    api.cleanup_ctx.append(_refresher)
