"""The origins an edge fetches from, in order of preference, skipping one that just failed.

A failure is a connection error, a timeout or a 5xx: the next origin is tried at once, so a
viewer sees a short delay rather than an error, and the failed origin is left alone for
``retry_after`` seconds. A 4xx is the origin's answer (a part that does not exist), not a
failure, and is passed on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import structlog
from aiohttp import hdrs

log = structlog.get_logger(__name__)

PASSED_HEADERS = (hdrs.CONTENT_TYPE, hdrs.CACHE_CONTROL, hdrs.RETRY_AFTER)


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class UpstreamUnavailable(Exception):
    """No origin answered."""


class Origins:
    def __init__(
        self,
        urls: Sequence[str],
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        retry_after: float = 5.0,
    ) -> None:
        if not urls:
            raise ValueError("an edge needs at least one origin")
        self._urls = [url.rstrip("/") for url in urls]
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retry_after = retry_after
        self._down_until: dict[str, float] = {}
        self.fetches = 0
        self.errors = 0

    async def fetch(self, path_qs: str) -> UpstreamResponse:
        now = time.monotonic()
        healthy = [url for url in self._urls if self._down_until.get(url, 0.0) <= now]
        resting = [url for url in self._urls if url not in healthy]
        for url in healthy + resting:  # all down: try them anyway rather than fail outright
            self.fetches += 1
            try:
                async with self._session.get(url + path_qs, timeout=self._timeout) as response:
                    body = await response.read()
                    if response.status < 500:
                        headers = tuple(
                            (name, response.headers[name])
                            for name in PASSED_HEADERS
                            if name in response.headers
                        )
                        return UpstreamResponse(response.status, headers, body)
                    error = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = repr(exc)
            self.errors += 1
            self._down_until[url] = time.monotonic() + self._retry_after
            log.warning("edge.origin_failed", origin=url, path=path_qs, error=error)
        raise UpstreamUnavailable(f"no origin answered {path_qs}")
