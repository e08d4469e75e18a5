"""The origins an edge fetches from, in order of preference, passing over those that are down.

An origin is down after a connection error, a timeout or a 500/502/504 (the next one is tried
at once, so a viewer sees a short delay rather than an error) or a failed health check
(:mod:`edge.health`), and is passed over for ``retry_after`` seconds or until a health check
finds it well. When every origin is down they are all tried anyway rather than failing
outright. A 503 is an origin's answer about one request (the stream has no media yet, a
blocking reload timed out): the next origin is asked, but the origin is not marked down, and
when nobody does better the 503 itself is passed on. A 4xx is an answer, not a failure, with
one exception: a 404 for a live path means "not packaged here" (each origin packages the
streams whose publishers reach it), so the next origin is asked and the 404 stands only when
none has the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import structlog
from aiohttp import hdrs

from edge.metrics import ORIGIN_FETCHES, UPSTREAM_ERRORS
from origin.edge_access import ACCESS, CDN_CACHE_CONTROL

log = structlog.get_logger(__name__)

LIVE_PREFIX = "/live/"

PASSED_HEADERS = (hdrs.CONTENT_TYPE, hdrs.CACHE_CONTROL, hdrs.RETRY_AFTER, ACCESS, CDN_CACHE_CONTROL)
"""What an edge keeps of an origin's answer; everything else it sets itself."""


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    origin: str = ""
    """Which origin answered (empty for object storage)."""

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class UpstreamUnavailable(Exception):
    """No origin answered usefully; ``last`` is the last 5xx one of them sent, if any."""

    def __init__(self, message: str, last: UpstreamResponse | None = None) -> None:
        super().__init__(message)
        self.last = last


class ObjectTooLarge(Exception):
    """The origin's answer is larger than the edge will hold (``max_object_bytes``)."""


class OriginHealth:
    """Which origins are down, shared by every origin list that names them."""

    def __init__(self, retry_after: float) -> None:
        self._retry_after = retry_after
        self._down_until: dict[str, float] = {}

    def is_up(self, url: str, now: float | None = None) -> bool:
        return self._down_until.get(url, 0.0) <= (time.monotonic() if now is None else now)

    def failed(self, url: str) -> None:
        self._down_until[url] = time.monotonic() + self._retry_after

    def recovered(self, url: str) -> None:
        self._down_until.pop(url, None)


class Origins:
    def __init__(
        self,
        urls: Sequence[str],
        session: aiohttp.ClientSession,
        health: OriginHealth,
        *,
        timeout: aiohttp.ClientTimeout,
        max_bytes: int,
    ) -> None:
        if not urls:
            raise ValueError("an edge needs at least one origin")
        self.urls = tuple(url.rstrip("/") for url in urls)
        self._session = session
        self._health = health
        self._timeout = timeout
        self._max_bytes = max_bytes
        self.fetches = 0
        self.errors = 0

    def preferred(self) -> str:
        """The origin a request goes to first: the first one that is up."""
        now = time.monotonic()
        return next((url for url in self.urls if self._health.is_up(url, now)), self.urls[0])

    async def fetch(
        self, path_qs: str, headers: Mapping[str, str] | None = None
    ) -> UpstreamResponse:
        now = time.monotonic()
        up = [url for url in self.urls if self._health.is_up(url, now)]
        last: UpstreamResponse | None = None
        elsewhere: UpstreamResponse | None = None
        for url in up + [url for url in self.urls if url not in up]:
            self.fetches += 1
            ORIGIN_FETCHES.labels(url).inc()
            try:
                response = await self._get(url, path_qs, headers)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self._failed(url, path_qs, repr(exc))
                continue
            if response.status == 404 and path_qs.startswith(LIVE_PREFIX):
                elsewhere = response
                continue
            if response.status < 500:
                return response
            last = response
            if response.status != 503:
                self._failed(url, path_qs, f"HTTP {response.status}")
        if elsewhere is not None and (last is None or last.status != 503):
            return elsewhere
        raise UpstreamUnavailable(f"no origin answered {path_qs}", last)

    def _failed(self, url: str, path_qs: str, error: str) -> None:
        self.errors += 1
        UPSTREAM_ERRORS.labels(url).inc()
        self._health.failed(url)
        log.warning("edge.origin_failed", origin=url, path=path_qs, error=error)

    async def _get(
        self, origin: str, path_qs: str, headers: Mapping[str, str] | None
    ) -> UpstreamResponse:
        async with self._session.get(origin + path_qs, headers=headers, timeout=self._timeout) as response:
            if (response.content_length or 0) > self._max_bytes:
                raise ObjectTooLarge(f"{response.content_length} bytes")
            body = bytearray()
            async for chunk in response.content.iter_chunked(1 << 16):
                body += chunk
                if len(body) > self._max_bytes:
                    raise ObjectTooLarge(f"more than {self._max_bytes} bytes")
            kept = tuple((name, response.headers[name]) for name in PASSED_HEADERS if name in response.headers)
            return UpstreamResponse(response.status, kept, bytes(body), origin)


class OriginMap:
    """Which origins serve a path: a live stream's own list when configured, else the default."""

    def __init__(self, default: Origins, per_stream: Mapping[str, Origins]) -> None:
        self.default = default
        self._per_stream = dict(per_stream)

    def for_stream(self, stream: str | None) -> Origins:
        return self._per_stream.get(stream, self.default) if stream else self.default

    def all(self) -> list[Origins]:
        return [self.default, *self._per_stream.values()]
