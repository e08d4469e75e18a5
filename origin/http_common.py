"""What every origin route shares: read-only resources with CORS, and errors no cache keeps.

Players on other origins (a site embedding the player, an edge on another host) fetch
playlists and media with ``fetch``/XHR, so every answer carries CORS headers and every
resource answers the preflight a Range header triggers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiohttp import hdrs, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Accept-Ranges, Age, Content-Length, Content-Range, Date",
}
_PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range",
    "Access-Control-Max-Age": "86400",
}


async def _preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=_PREFLIGHT)


def add_read_only_resources(app: web.Application, routes: Iterable[tuple[str, Handler]]) -> None:
    """GET and HEAD on each path, plus the CORS preflight."""
    for path, handler in routes:
        resource = app.router.add_resource(path)
        for method in (hdrs.METH_GET, hdrs.METH_HEAD):
            resource.add_route(method, handler)
        resource.add_route(hdrs.METH_OPTIONS, _preflight)


def http_error(
    kind: type[web.HTTPException], message: str, extra: Mapping[str, str] | None = None
) -> web.HTTPException:
    """A plain-text error that no cache keeps: what is missing now may exist a moment later."""
    headers = {hdrs.CACHE_CONTROL: "no-store", **CORS, **(extra or {})}
    return kind(text=message + "\n", headers=headers)
