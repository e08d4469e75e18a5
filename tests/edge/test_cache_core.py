"""The edge's cache core: Cache-Control, cache keys, the byte-bounded LRU, request collapsing."""

from __future__ import annotations

import asyncio

import pytest
from multidict import MultiDict

from edge.cache_key import cache_key
from edge.freshness import Freshness, freshness
from edge.edge_object import EdgeObject, edge_object
from edge.memory_cache import ENTRY_OVERHEAD, MemoryCache
from edge.single_flight import SingleFlight
from edge.upstream import UpstreamResponse
from origin.hls_directives import parse_directives

# ------------------------------------------------------------------------- Cache-Control


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("public, max-age=31536000, immutable", Freshness(True, 31536000, 0)),
        ("public, max-age=2", Freshness(True, 2, 0)),
        ("no-cache", Freshness(True, 0, 0)),
        ("no-store", Freshness(False, 0, 0)),
        ("private, max-age=31536000, immutable", Freshness(False, 0, 0)),
        ("max-age=60, s-maxage=5", Freshness(True, 5, 0)),
        ("max-age=10, stale-if-error=300", Freshness(True, 10, 300)),
        ('MAX-AGE="7"', Freshness(True, 7, 0)),
        ("max-age=5, max-age=500", Freshness(True, 5, 0)),  # the first one counts
        (None, Freshness(True, 0, 0)),
        # hostile or broken values mean "stale", never an exception or a huge lifetime
        ("max-age=-1", Freshness(True, 0, 0)),
        ("max-age=1e9", Freshness(True, 0, 0)),
        ("max-age=99999999999999999999", Freshness(True, 0, 0)),
        ("max-age", Freshness(True, 0, 0)),
        (",,,=,;;", Freshness(True, 0, 0)),
    ],
)
def test_freshness(header, expected):
    assert freshness(header) == expected


# ------------------------------------------------------------------------- cache keys


def _key(path: str, query: dict[str, str]) -> str:
    return cache_key(path, parse_directives(MultiDict(query)))


def test_only_delivery_directives_make_a_key():
    path = "/live/s/source/index.m3u8"
    assert _key(path, {}) == path
    assert _key(path, {"token": "abc", "cb": "1"}) == path
    blocking = _key(path, {"_HLS_part": "2", "token": "x", "_HLS_msn": "7"})
    assert blocking == f"{path}?_HLS_msn=7&_HLS_part=2"
    assert _key(path, {"_HLS_msn": "7", "_HLS_part": "2", "_HLS_skip": "YES"}) != blocking


# ------------------------------------------------------------------------- LRU by bytes


def _object(body: bytes, rules: str = "max-age=10", now: float = 0) -> EdgeObject:
    headers = (("Content-Type", "x"), ("Cache-Control", rules))
    return edge_object(UpstreamResponse(200, headers, body), now)


def test_least_recently_used_goes_first_when_the_byte_budget_is_full():
    cache = MemoryCache(max_bytes=3 * (1000 + ENTRY_OVERHEAD))
    for key in "abc":
        assert cache.store(key, _object(b"x" * 1000), now=0)
    assert cache.fresh("a", now=1) is not None  # "a" is now the most recent
    cache.store("d", _object(b"x" * 1000), now=1)
    assert cache.fresh("b", now=1) is None and cache.fresh("a", now=1) is not None
    assert len(cache) == 3 and cache.size_bytes == 3 * (1000 + ENTRY_OVERHEAD)


def test_too_big_or_unstorable_responses_are_not_kept():
    cache = MemoryCache(max_bytes=10_000)
    assert not cache.store("big", _object(b"x" * 10_000), now=0)
    assert not cache.store("private", _object(b"x", "private, max-age=60"), now=0)
    assert not cache.store("no-cache", _object(b"x", "no-cache"), now=0)
    assert len(cache) == 0


def test_expiry_and_stale_if_error():
    cache = MemoryCache(max_bytes=100_000)
    cache.store("p", _object(b"body", "max-age=2, stale-if-error=60", now=100), now=100)
    assert cache.fresh("p", now=101.9).body == b"body"
    assert cache.fresh("p", now=102) is None
    assert cache.stale("p", now=161).body == b"body"
    assert cache.stale("p", now=162) is None


def test_cdn_cache_control_outranks_cache_control_and_stays_at_the_edge():
    rules = (("Cache-Control", "private, max-age=60"), ("CDN-Cache-Control", "max-age=30"),
             ("Tributary-Access", "token"))
    kept = edge_object(UpstreamResponse(200, rules, b"x"), now=0)
    assert kept.storable and kept.fresh_until == 30 and kept.restricted
    assert dict(kept.headers) == {"Cache-Control": "private, max-age=60"}


# ------------------------------------------------------------------------- request collapsing


async def test_a_thousand_concurrent_requests_make_one_fetch():
    flights: SingleFlight[bytes] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def fetch() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return b"segment"

    waiting = [asyncio.ensure_future(flights.run("seg", fetch)) for _ in range(1000)]
    await asyncio.sleep(0)
    release.set()
    assert set(await asyncio.gather(*waiting)) == {b"segment"}
    assert calls == 1 and flights.started == 1 and flights.collapsed == 999
    assert flights.in_flight() == 0
    assert await flights.run("seg", fetch) == b"segment" and calls == 2  # nothing is cached here


async def test_every_waiter_gets_the_failure_and_the_next_request_tries_again():
    flights: SingleFlight[bytes] = SingleFlight()

    async def fail() -> bytes:
        await asyncio.sleep(0.01)
        raise ConnectionError("origin down")

    results = await asyncio.gather(*(flights.run("k", fail) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert flights.in_flight() == 0


async def test_a_viewer_who_leaves_does_not_cancel_the_fetch_for_the_others():
    flights: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()
    cancelled = False

    async def fetch() -> str:
        nonlocal cancelled
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled = True
            raise
        return "part"

    first = asyncio.ensure_future(flights.run("part", fetch))
    second = asyncio.ensure_future(flights.run("part", fetch))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    release.set()
    assert await second == "part" and not cancelled

    # When every waiter has gone, the fetch is cancelled: nobody needs it.
    release.clear()
    only = asyncio.ensure_future(flights.run("part", fetch))
    await asyncio.sleep(0)
    only.cancel()
    with pytest.raises(asyncio.CancelledError):
        await only
    await asyncio.sleep(0)
    assert cancelled and flights.in_flight() == 0
