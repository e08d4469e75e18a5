"""The edge's request path: canonical cache key → fresh copy (memory, then disk for VOD media),
or one collapsed upstream fetch (origins, then object storage for VOD) → cache → viewer.

When nothing upstream answers, a copy still within its ``stale-if-error`` window is served
instead of an error, else 502. Playback tokens for restricted VOD are checked on every request,
before the cache when the edge already knows the video needs one (:mod:`edge.access`).
``X-Cache`` (HIT, DISK, MISS, STALE, STORAGE) tells operators where an answer came from.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import hdrs, web

from edge.access import AccessDenied, VodAccess
from edge.cache_key import cache_key
from edge.disk_cache import DiskTier
from edge.edge_object import EdgeObject, edge_object
from edge.memory_cache import MemoryCache
from edge.metrics import BYTES_SERVED, CACHE_BYTES, CACHE_ENTRIES, LATENCY, OUTCOMES, REQUESTS
from edge.responses import respond
from edge.single_flight import SingleFlight
from edge.upstream import ObjectTooLarge, OriginMap, Origins, UpstreamResponse, UpstreamUnavailable
from origin.edge_access import EDGE_TOKEN
from origin.hls_directives import DirectiveError, parse_directives
from origin.http_common import http_error

_REQUESTS = {outcome: REQUESTS.labels(outcome) for outcome in OUTCOMES}
_LATENCY = {kind: LATENCY.labels(kind) for kind in ("playlist", "media")}
_X_CACHE = {"collapsed": "MISS"}
"""X-Cache by outcome where it is not the outcome's name: a request that joined another's
fetch is a miss to its viewer (it waited for the origin); only the metrics tell them apart."""

StorageFallback = Callable[[Mapping[str, str]], Awaitable[UpstreamResponse | None]]
"""Given a VOD route's match (``video``, and ``rendition`` + ``name`` or ``thumbnail``), the
object from storage as an origin would answer it, or None when storage has no such object."""


class EdgeProxy:
    def __init__(
        self,
        origins: OriginMap,
        cache: MemoryCache,
        playback_key: bytes,
        *,
        disk: DiskTier | None = None,
        storage_fallback: StorageFallback | None = None,
    ) -> None:
        self._origins = origins
        self._cache = cache
        self._disk = disk
        self._storage_fallback = storage_fallback
        self._access = VodAccess(playback_key)
        self._flights: SingleFlight[EdgeObject] = SingleFlight()

    @property
    def flights(self) -> SingleFlight[EdgeObject]:
        return self._flights

    @property
    def origins(self) -> OriginMap:
        return self._origins

    @property
    def cache(self) -> MemoryCache:
        return self._cache

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        outcome = "error"
        try:
            response, outcome = await self._handle(request)
        except web.HTTPForbidden:
            outcome = "denied"  # the one 403 an edge answers: a playback token refused
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            _REQUESTS[outcome].inc()
            kind = "playlist" if request.path.endswith(".m3u8") else "media"
            _LATENCY[kind].observe(time.perf_counter() - started)
        if request.method == hdrs.METH_GET and isinstance(response.body, bytes):
            BYTES_SERVED.inc(len(response.body))
        return response

    async def _handle(self, request: web.Request) -> tuple[web.Response, str]:
        try:
            directives = parse_directives(request.query)
        except DirectiveError as bad:
            raise http_error(web.HTTPBadRequest, str(bad)) from None
        video = request.match_info.get("video")
        token = request.query.get("token") if video is not None else None
        if video is not None and self._access.known_restricted(video):
            self._check(video, token)  # a bad token costs no lookup and no origin request
        obj, outcome = await self._object(cache_key(request.path, directives), request.match_info)
        restricted = video is not None and self._access.restricted(video, obj)
        if restricted:
            assert video is not None
            self._check(video, token)
        x_cache = _X_CACHE.get(outcome) or outcome.upper()
        return respond(request, obj, x_cache, token if restricted else None), outcome

    def _check(self, video: str, token: str | None) -> None:
        try:
            self._access.check(video, token)
        except AccessDenied as denied:
            raise http_error(web.HTTPForbidden, str(denied)) from None

    async def _object(self, path_key: str, match: Mapping[str, str]) -> tuple[EdgeObject, str]:
        origins = self._origins.for_stream(match.get("stream"))
        key = _scoped(path_key, origins.preferred(), match)
        now = time.monotonic()
        hit = self._cache.fresh(key, now)
        if hit is not None:
            return hit, "hit"
        if self._disk is not None and _is_vod_media(match):
            from_disk = await self._disk.get(key, now)
            if from_disk is not None:
                self._keep(key, from_disk, now)
                return from_disk, "disk"
        joined = self._flights.is_flying(key)
        try:
            fetched = await self._flights.run(key, lambda: self._fetch(path_key, origins, match))
        except UpstreamUnavailable as failed:
            now = time.monotonic()
            stale = self._cache.stale(key, now)
            if stale is not None:
                return stale, "stale"
            if failed.last is not None:  # an origin's own answer (a 503 saying why): pass it on
                return edge_object(failed.last, now), "collapsed" if joined else "miss"
            raise http_error(web.HTTPBadGateway, "no origin answered") from None
        except ObjectTooLarge as too_large:
            raise http_error(web.HTTPBadGateway, f"the object is too large: {too_large}") from None
        if fetched.from_storage:
            return fetched, "storage"
        return fetched, "collapsed" if joined else "miss"

    async def _fetch(self, path_key: str, origins: Origins, match: Mapping[str, str]) -> EdgeObject:
        video = match.get("video")
        headers = {EDGE_TOKEN: self._access.edge_token(video)} if video is not None else None
        try:
            response = await origins.fetch(path_key, headers)
            obj = edge_object(response, time.monotonic())
            key = _scoped(path_key, response.origin, match)
        except UpstreamUnavailable:
            stored = await self._from_storage(match)
            if stored is None:
                raise
            obj, key = stored, path_key
        now = time.monotonic()
        if video is not None:
            self._access.learn(video, obj)
        if self._keep(key, obj, now) and self._disk is not None and _is_vod_media(match):
            self._disk.put(key, obj, now)
        return obj

    async def _from_storage(self, match: Mapping[str, str]) -> EdgeObject | None:
        if self._storage_fallback is None or "video" not in match:
            return None
        response = await self._storage_fallback(match)
        if response is None:
            return None
        return edge_object(response, time.monotonic(), from_storage=True)

    def _keep(self, key: str, obj: EdgeObject, now: float) -> bool:
        kept = self._cache.store(key, obj, now)
        if kept:
            CACHE_BYTES.labels("memory").set(self._cache.size_bytes)
            CACHE_ENTRIES.labels("memory").set(len(self._cache))
        return kept


def _scoped(path_key: str, origin: str, match: Mapping[str, str]) -> str:
    """Live objects are cached per origin. Two origins fed the same stream carry the same media
    under different numbers (each numbers from its own clock), so a name cached from one must
    never answer for the other after a failover. VOD objects are the same everywhere."""
    return origin + path_key if "stream" in match else path_key


def _is_vod_media(match: Mapping[str, str]) -> bool:
    """Immutable VOD objects worth a disk tier: segments, init segments and thumbnails."""
    return "video" in match and ("name" in match or "thumbnail" in match)
