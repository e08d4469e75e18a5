"""An origin's answer as an edge holds it: what every viewer asking for the same key is served.

Built once per fetch, so everything derived from the body (the ETag, the gzip encoding of a
playlist) is computed once for all the viewers it is served to, not once per viewer.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field

from aiohttp import hdrs

from edge.freshness import freshness
from edge.upstream import UpstreamResponse
from origin.edge_access import ACCESS, CDN_CACHE_CONTROL, RESTRICTED

_EDGE_ONLY = frozenset({ACCESS.lower(), CDN_CACHE_CONTROL.lower()})


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


@dataclass(slots=True, eq=False)
class EdgeObject:
    status: int
    headers: tuple[tuple[str, str], ...]
    """The origin's headers a viewer gets (not the ones meant for edges)."""
    body: bytes
    etag: str
    restricted: bool
    """Viewers need a playback token (the origin said ``Tributary-Access: token``)."""
    storable: bool
    fresh_until: float
    stale_until: float
    from_storage: bool = False
    _gzipped: bytes | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


def edge_object(response: UpstreamResponse, now: float, *, from_storage: bool = False) -> EdgeObject:
    """Read the caching rules: ``CDN-Cache-Control`` (RFC 9213) when present, else Cache-Control."""
    rules = freshness(response.header(CDN_CACHE_CONTROL) or response.header(hdrs.CACHE_CONTROL))
    return EdgeObject(
        status=response.status,
        headers=tuple((k, v) for k, v in response.headers if k.lower() not in _EDGE_ONLY),
        body=response.body,
        etag=etag_of(response.body),
        restricted=response.header(ACCESS) == RESTRICTED,
        storable=response.status == 200 and rules.storable,
        fresh_until=now + rules.ttl,
        stale_until=now + rules.ttl + rules.stale_if_error,
        from_storage=from_storage,
    )
