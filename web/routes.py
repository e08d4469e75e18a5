"""Routes for the pages a viewer opens, and the static files (ours and npm's) they load.

Front-end packages come from the npm registry into ``web/node_modules`` (the set-up command
runs ``npm ci``); only the files a page needs are exposed, under ``/static/vendor/``.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from catalog.live_streams import STREAM_NAME
from packager.live.registry import LiveRegistry

_HERE = Path(__file__).parent
_VENDOR_FILES = {"hls.min.js": _HERE / "node_modules" / "hls.js" / "dist" / "hls.min.js"}
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True
)


def add_web_routes(app: web.Application, registry: LiveRegistry) -> None:
    async def watch(request: web.Request) -> web.Response:
        name = request.match_info["stream"]
        if not STREAM_NAME.match(name):
            raise web.HTTPNotFound(text="no such stream")
        html = _templates.get_template("watch.html").render(
            stream=name, live=registry.lookup(name) is not None
        )
        return web.Response(text=html, content_type="text/html")

    async def publish(request: web.Request) -> web.Response:
        """The browser publisher: camera and microphone to ``POST /whip`` (WebRTC)."""
        html = _templates.get_template("publish.html").render()
        return web.Response(text=html, content_type="text/html")

    async def vendor(request: web.Request) -> web.FileResponse:
        path = _VENDOR_FILES.get(request.match_info["file"])
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text="unknown vendor file (did the set-up command run npm ci?)")
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    app.router.add_get("/watch/{stream}", watch)
    app.router.add_get("/publish", publish)
    app.router.add_get("/static/vendor/{file}", vendor)
    app.router.add_static("/static/", _HERE / "static", show_index=False)
