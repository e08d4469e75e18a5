"""What a viewer receives for an edge object: conditional (ETag / If-None-Match → 304), ranged
(206 / 416), gzip for playlists, CORS, and ``X-Cache`` saying where the answer came from.

Playlists and thumbnail tracks of restricted videos are the one per-viewer variant: they carry
the viewer's own token on every URI (the shared copy carries none), so their ETag and gzip are
computed here.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

from aiohttp import hdrs, web

from edge.edge_object import EdgeObject, etag_of
from origin.byte_ranges import Unsatisfiable, byte_range
from origin.http_common import CORS, http_error
from origin.live_routes import PLAYLIST_TYPE
from origin.playlist_tokens import VTT_TYPE, track_with_token, with_token

_TOKENED_TEXT: dict[str, Callable[[str, str], str]] = {
    PLAYLIST_TYPE: with_token,
    VTT_TYPE: track_with_token,
}
"""Text that lists URIs (gzipped for every viewer, tokened for each viewer of restricted video)."""


def accepts_gzip(accept_encoding: str | None) -> bool:
    """``gzip`` listed and not refused with ``q=0`` (RFC 9110 §12.5.3)."""
    for coding in (accept_encoding or "").lower().split(","):
        name, *params = coding.split(";")
        if name.strip() not in ("gzip", "x-gzip"):
            continue
        for param in params:
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison, as If-None-Match asks (RFC 9110 §13.1.2); ``*`` matches anything."""
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def respond(request: web.Request, obj: EdgeObject, x_cache: str, token: str | None) -> web.Response:
    headers = {**dict(obj.headers), **CORS, "X-Cache": x_cache}
    if obj.status != 200:
        return web.Response(status=obj.status, body=obj.body, headers=headers)
    body, etag = obj.body, obj.etag
    add_token = _TOKENED_TEXT.get(obj.header(hdrs.CONTENT_TYPE) or "")
    if add_token is not None:
        if token is not None:
            body = add_token(body.decode(), token).encode()
            etag = etag_of(body)
        headers[hdrs.VARY] = hdrs.ACCEPT_ENCODING
        if accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING)):
            body = obj.gzipped() if body is obj.body else gzip.compress(body, mtime=0)
            headers[hdrs.CONTENT_ENCODING] = "gzip"
            etag = etag[:-1] + '-gz"'
        headers[hdrs.ETAG] = etag
        if etag_matches(request.headers.get(hdrs.IF_NONE_MATCH), etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers)
    headers[hdrs.ETAG] = etag
    headers[hdrs.ACCEPT_RANGES] = "bytes"
    if etag_matches(request.headers.get(hdrs.IF_NONE_MATCH), etag):
        return web.Response(status=304, headers=headers)
    wanted = request.headers.get(hdrs.RANGE)
    if wanted is None:
        return web.Response(body=body, headers=headers)
    try:
        span = byte_range(wanted, len(body))
    except Unsatisfiable as bad:
        raise http_error(
            web.HTTPRequestRangeNotSatisfiable, str(bad), {hdrs.CONTENT_RANGE: f"bytes */{len(body)}"}
        ) from None
    if span is None:
        return web.Response(body=body, headers=headers)
    start, end = span
    headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{len(body)}"
    return web.Response(status=206, body=body[start:end], headers=headers)
