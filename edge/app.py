"""The edge's HTTP application: everything under ``/live/`` goes through the caching proxy."""

from __future__ import annotations

from aiohttp import hdrs, web

from edge.proxy import EdgeProxy


def create_edge_app(proxy: EdgeProxy) -> web.Application:
    app = web.Application()
    resource = app.router.add_resource("/live/{tail:.+}")
    resource.add_route(hdrs.METH_GET, proxy.handle)
    return app
