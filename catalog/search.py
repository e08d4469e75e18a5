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

Live streams (:class:`LiveSearch`) are searched among the few that are live right now, whose
names the caller passes in (the packager's registry): the unique index on ``live_streams.name``
picks them out and each is then matched in full, so no text index is needed (a trigram index
on stream titles would not serve a query driven by the names; there is none). A stream
matches on its title, its channel's title and its channel's handle, with the same two modes as
videos: full-text first; when no live stream matches exactly, word similarity for typos.
Streams of a channel show only while the channel exists; streams made by
``tributary stream create`` have no channel and match on their title.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from catalog.live_streams import LiveStream
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


@asynccontextmanager
async def _search_connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction with the search's settings (see the module docstring)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_SETTINGS)
        yield conn


class VideoSearch:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def _connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return _search_connection(self._pool)

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


@dataclass(frozen=True, slots=True)
class LiveHit:
    stream: LiveStream
    channel_handle: str | None  # None: a stream made on the command line
    channel_title: str | None
    relevance: float  # the sort key, with the stream's name (ascending) breaking ties


LiveKey = tuple[float, str]
"""Where a page of live hits ends: ``(relevance, stream name)``."""

# Every live stream among $2 (names) with how it matches $1: ``exact`` (full-text over its
# title, weighted A, and its channel's title and handle, B) and ``similarity`` (the best word
# similarity of $1 to any of the three). The mode is decided over all of them, then $3/$4
# (relevance, name) continue after a previous page; $5 is the limit, $6 the typo threshold.
_LIVE_SEARCH = """
    WITH live AS (
        SELECT s.id, s.name, s.title, s.channel_id, c.handle::text AS handle,
               c.title AS channel_title,
               setweight(to_tsvector('english', s.title), 'A')
                   || setweight(to_tsvector('english', coalesce(c.title, '') || ' '
                                            || coalesce(c.handle::text, '')), 'B') AS document
        FROM live_streams s LEFT JOIN channels c ON c.id = s.channel_id
        WHERE s.name = ANY($2::text[]) AND (s.channel_id IS NULL OR c.id IS NOT NULL)
    ), scored AS (
        SELECT live.*, document @@ websearch_to_tsquery('english', $1) AS exact,
               ts_rank(document, websearch_to_tsquery('english', $1))::float8 AS rank,
               greatest(word_similarity($1, title), word_similarity($1, coalesce(channel_title, '')),
                        word_similarity($1, coalesce(handle, '')))::float8 AS similarity
        FROM live
    ), matched AS (
        SELECT scored.*, CASE WHEN exact THEN rank ELSE similarity END AS relevance
        FROM scored
        WHERE CASE WHEN EXISTS (SELECT 1 FROM scored WHERE exact) THEN exact
                   ELSE similarity >= $6 END
    )
    SELECT id, name, title, channel_id, handle, channel_title, relevance FROM matched
    WHERE $3::float8 IS NULL OR relevance < $3 OR (relevance = $3 AND name > $4)
    ORDER BY relevance DESC, name LIMIT $5"""


class LiveSearch:
    """Streams live right now (``live_names``, from the packager) matching a text; see the
    module docstring."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def search(
        self, query: str, live_names: Iterable[str], *, after: LiveKey | None, limit: int
    ) -> list[LiveHit]:
        """Up to ``limit`` hits after ``after`` (a hit's ``(relevance, name)``), best first."""
        names = sorted(set(live_names))
        if not names:
            return []
        rows = await self._run(query, names, after, limit)
        return [
            LiveHit(
                LiveStream(row["id"], row["name"], row["title"], row["channel_id"]),
                row["handle"],
                row["channel_title"],
                row["relevance"],
            )
            for row in rows
        ]

    async def plan(self, query: str, live_names: Iterable[str]) -> str:
        """``EXPLAIN`` of a first page's query: for tests, which check the name index serves it."""
        rows = await self._run(query, sorted(set(live_names)), None, 20, explain=True)
        return "\n".join(row[0] for row in rows)

    async def _run(
        self, query: str, names: list[str], after: LiveKey | None, limit: int, *, explain: bool = False
    ) -> list[asyncpg.Record]:
        relevance, name = after if after else (None, None)
        async with _search_connection(self._pool) as conn:
            try:
                return await conn.fetch(
                    ("EXPLAIN " if explain else "") + _LIVE_SEARCH,
                    query, names, relevance, name, limit, TYPO_SIMILARITY,
                )
            except asyncpg.QueryCanceledError:
                raise SearchTimedOut(f"the search took longer than {STATEMENT_TIMEOUT}") from None
