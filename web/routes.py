"""The pages a person opens, and the static files (ours and npm's) they load.

Pages are server-rendered shells (Jinja2, one template per page, all extending
``base.html``) whose small JavaScript modules fill them from the public REST API, playback
URLs and Socket.IO events only: the web UI has no private way into the server, so anything it
does a third-party client can do too. Path parameters are checked against the same patterns
the API uses, so a malformed URL is a 404 here rather than an error later.

Front-end packages come from the npm registry into ``web/node_modules`` (the set-up command
runs ``npm ci``); only the files a page needs are exposed, under ``/static/vendor/``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from catalog.live_streams import STREAM_NAME
from tributary.settings import PublicSettings

_HERE = Path(__file__).parent
_MODULES = _HERE / "node_modules"
_VENDOR_FILES = {
    "hls.min.js": _MODULES / "hls.js" / "dist" / "hls.min.js",
    "socket.io.min.js": _MODULES / "socket.io-client" / "dist" / "socket.io.min.js",
    "tus.min.js": _MODULES / "tus-js-client" / "dist" / "tus.min.js",
}
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True
)

_VIDEO = "{video:[A-Za-z0-9_-]{11}}"
_HANDLE = "{handle:[A-Za-z0-9_-]{3,30}}"
PAGES = {
    "/": "home.html",
    "/search": "search.html",
    f"/v/{_VIDEO}": "video.html",
    f"/c/{_HANDLE}": "channel.html",
    "/signin": "signin.html",
    "/signup": "signup.html",
    "/studio": "studio.html",
    "/studio/upload": "upload.html",
    f"/studio/videos/{_VIDEO}": "edit_video.html",
    "/publish": "publish.html",
}
"""Path → template. Live pages (``/watch/{stream}``) are added separately: they also say
whether the stream is live, so the first paint is right."""


def _render(template: str, **context: object) -> web.Response:
    html = _templates.get_template(template).render(**context)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})


def _pick(urls: list[str]) -> str:
    """One of a cluster's hosts for this page view, so viewers spread over them; none: this
    page's own host (relative URLs)."""
    return random.choice(urls) if urls else ""


def _in_turn(urls: list[str]) -> list[str]:
    """All of a cluster's hosts in a random order: the first plays, the others take over
    when it fails. None: this page's own host."""
    return random.sample(urls, len(urls)) if urls else [""]


def add_web_routes(
    app: web.Application, is_live: Callable[[str], bool], public: PublicSettings
) -> None:
    """``is_live(stream)``: whether a stream is being published (on this node, or anywhere in
    the cluster for an API node); ``public``: the edges that serve playback and the chat nodes
    pages connect to, when they are not this node."""

    def render(template: str, **context: object) -> web.Response:
        return _render(template, chat_url=_pick(public.chat_urls), **context)

    def page(template: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            return render(template, query=request.query.get("q", "")[:200], **request.match_info)

        return handler

    async def watch(request: web.Request) -> web.Response:
        name = request.match_info["stream"]
        if not STREAM_NAME.match(name):
            raise web.HTTPNotFound(text="no such stream")
        first, *others = [f"{host}/live/{name}/master.m3u8" for host in _in_turn(public.playback_urls)]
        return render("watch.html", stream=name, live=is_live(name), playlist=first, fallbacks=others)

    async def vendor(request: web.Request) -> web.FileResponse:
        path = _VENDOR_FILES.get(request.match_info["file"])
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text="unknown vendor file (did the set-up command run npm ci?)")
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    for path, template in PAGES.items():
        app.router.add_get(path, page(template))
    app.router.add_get("/watch/{stream}", watch)
    app.router.add_get("/static/vendor/{file}", vendor)
    app.router.add_static("/static/", _HERE / "static", show_index=False)
