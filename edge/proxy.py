"""The edge's request path: cache key → fresh copy, or one collapsed origin fetch → cache.

When no origin answers, a copy still within its ``stale-if-error`` window is served instead of
an error, else 502. ``X-Cache`` (HIT, MISS, STALE) tells operators which it was.
"""

from __future__ import annotations

import time

from aiohttp import hdrs, web

from edge.cache_key import cache_key
from edge.freshness import freshness
from edge.memory_cache import MemoryCache
from edge.single_flight import SingleFlight
from edge.upstream import Origins, UpstreamResponse, UpstreamUnavailable
from origin.http_common import CORS, http_error


class EdgeProxy:
    def __init__(self, origins: Origins, cache: MemoryCache) -> None:
        self._origins = origins
        self._cache = cache
        self._flights: SingleFlight[UpstreamResponse] = SingleFlight()

    @property
    def flights(self) -> SingleFlight[UpstreamResponse]:
        return self._flights

    async def handle(self, request: web.Request) -> web.Response:
        key = cache_key(request.path, request.query)
        hit = self._cache.fresh(key, time.monotonic())
        if hit is not None:
            return _respond(hit.status, hit.headers, hit.body, "HIT")
        try:
            fetched = await self._flights.run(key, lambda: self._fetch(key))
        except UpstreamUnavailable:
            stale = self._cache.stale(key, time.monotonic())
            if stale is None:
                raise http_error(web.HTTPBadGateway, "no origin answered") from None
            return _respond(stale.status, stale.headers, stale.body, "STALE")
        return _respond(fetched.status, fetched.headers, fetched.body, "MISS")

    async def _fetch(self, key: str) -> UpstreamResponse:
        response = await self._origins.fetch(key)
        if response.status == 200:
            self._cache.store(
                key,
                response.status,
                response.headers,
                response.body,
                freshness(response.header(hdrs.CACHE_CONTROL)),
                time.monotonic(),
            )
        return response


def _respond(
    status: int, headers: tuple[tuple[str, str], ...], body: bytes, outcome: str
) -> web.Response:
    return web.Response(status=status, body=body, headers={**dict(headers), **CORS, "X-Cache": outcome})
