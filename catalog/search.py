"""Video search: PostgreSQL full-text search, falling back to trigram similarity for typos.

Exact matching comes first: a video matches when its ``search_document`` (title weighted A,
tags B, description C; migration 0003) matches ``websearch_to_tsquery('english', q)`` — quoted
phrases, ``or`` and ``-word`` work as on web search engines, words are stemmed — ranked by
``ts_rank``, so a hit in the title outranks one in the tags, which outranks one in the
description. When nothing matches exactly (with the same filters), the query is taken for a
typo: titles word-similar to it (pg_trgm's ``<%`` at :data:`TYPO_SIMILARITY`) match instead,
ranked by that similarity, so "tributray" finds "Tributary". The mode is decided anew on every
page from ``q`` and the filters, so all pages of one search use the same one.

Only listed videos are searched (public and ready: never unlisted ones, nor the caller's own
private ones), through partial GIN indexes with that same predicate. Sorting by date or views
finds the matches the same way, then sorts them.

Each search runs in a transaction with its own settings: the similarity threshold, and
:data:`STATEMENT_TIMEOUT`, so a pathological query fails fast instead of holding a connection.
The typo query also turns sequential scans off: pg_trgm's operators are costed like ``=`` while
each call compares trigram sets, so once a query looks unselective the planner would rather
test every title (ten times slower at 100,000 videos) than read the trigram index.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from catalog.video_listings import LISTED, VIDEO_COLUMNS, VIDEO_JOIN, ListedVideo
from catalog.videos import Video

TYPO_SIMILARITY = 0.5
"""pg_trgm word similarity a title needs to match a query it does not contain (pg_trgm's default
0.6 misses a transposition in a nine-letter word: "tribuatry" scores 0.5 against "tributary")."""
STATEMENT_TIMEOUT = timedelta(seconds=2)

_SETTINGS = (
    f"SET LOCAL pg_trgm.word_similarity_threshold = {TYPO_SIMILARITY};"
    f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT.total_seconds() * 1000)}"
)


class SearchSort(StrEnum):
    RELEVANCE = "relevance"
    DATE = "date"
    VIEWS = "views"


@dataclass(frozen=True, slots=True)
class _Match:
    """How a video matches ``$1``, how well, and the settings its query needs."""

    condition: str
    relevance: str
    settings: str = ""


_EXACT = _Match(
    "v.search_document @@ websearch_to_tsquery('english', $1)",
    "ts_rank(v.search_document, websearch_to_tsquery('english', $1))::float8",
)
_TYPO = _Match("$1 <% v.title", "word_similarity($1, v.title)::float8", "SET LOCAL enable_seqscan = off")


SortKey = float | datetime | int


class SearchTimedOut(Exception):
    """The search took longer than :data:`STATEMENT_TIMEOUT`."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    min_duration: float | None = None  # seconds
    max_duration: float | None = None
    published_within: timedelta | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    video: Video
    sort_key: SortKey  # the value of the sort's expression (relevance, date or views)


def _sort_expression(match: _Match, sort: SearchSort) -> str:
    if sort is SearchSort.DATE:
        return "v.published_at"
    if sort is SearchSort.VIEWS:
        return "v.view_count"
    return match.relevance


def _where(match: _Match) -> str:
    """The matching and filtering part of a search; parameters ``$1``-``$5``."""
    return f"""{LISTED} AND {match.condition}
        AND ($2::float8 IS NULL OR v.duration_seconds >= $2)
        AND ($3::float8 IS NULL OR v.duration_seconds <= $3)
        AND ($4::interval IS NULL OR v.published_at >= now() - $4)
        AND ($5::text IS NULL OR v.category = $5)"""


_ANY_EXACT = f"SELECT EXISTS (SELECT 1 FROM videos v WHERE {_where(_EXACT)})"


def _criteria(query: str, filters: SearchFilters) -> list[object]:
    """Parameters ``$1``-``$5`` of :func:`_where`."""
    return [query, filters.min_duration, filters.max_duration, filters.published_within, filters.category]


async def _fetch_page(
    conn: asyncpg.Connection, match: _Match, sort: SearchSort, args: list[object], *, explain: bool = False
) -> list[asyncpg.Record]:
    """A page of hits: ``args`` are the criteria, the limit, and the key to continue after (if
    any) as ``$7``/``$8``."""
    key = _sort_expression(match, sort)
    after_clause = f"AND ({key}, v.id) < ($7, $8)" if len(args) > 6 else ""
    sql = f"""SELECT {VIDEO_COLUMNS}, {key} AS sort_key FROM {VIDEO_JOIN}
              WHERE {_where(match)} {after_clause}
              ORDER BY sort_key DESC, v.id DESC LIMIT $6"""
    if match.settings:
        await conn.execute(match.settings)
    return await conn.fetch(("EXPLAIN " if explain else "") + sql, *args)


class VideoSearch:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction with the search's settings (see the module docstring)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_SETTINGS)
            yield conn

    async def search(
        self,
        query: str,
        filters: SearchFilters,
        *,
        sort: SearchSort,
        after: tuple[SortKey, int] | None,
        limit: int,
    ) -> list[SearchHit]:
        """Up to ``limit`` hits after ``after`` (a hit's ``(sort_key, video id)``), best first."""
        criteria = _criteria(query, filters)
        args = [*criteria, limit, *(after or ())]
        async with self._connection() as conn:
            try:
                rows = await _fetch_page(conn, _EXACT, sort, args)
                # No exact hit on this page: past the last one, or there are none (a typo?).
                if not rows and not (after and await conn.fetchval(_ANY_EXACT, *criteria)):
                    rows = await _fetch_page(conn, _TYPO, sort, args)
            except asyncpg.QueryCanceledError:
                raise SearchTimedOut(f"the search took longer than {STATEMENT_TIMEOUT}") from None
        return [SearchHit(ListedVideo.from_row(row).video, row["sort_key"]) for row in rows]

    async def plan(self, query: str, filters: SearchFilters, *, sort: SearchSort, typo: bool) -> str:
        """``EXPLAIN`` of a first page's query (exact or typo mode) under the search's settings:
        for tests and benchmarks, which check that the indexes serve it."""
        async with self._connection() as conn:
            rows = await _fetch_page(
                conn, _TYPO if typo else _EXACT, sort, [*_criteria(query, filters), 20], explain=True
            )
        return "\n".join(row[0] for row in rows)
