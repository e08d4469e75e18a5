"""The edge's HTTP application: every playback URL (:mod:`origin.url_scheme`) goes through the
caching proxy; anything else is answered 404 here and never reaches an origin."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from edge.proxy import EdgeProxy
from origin.http_common import add_read_only_resources
from origin.url_scheme import PLAYBACK_ROUTES
from tributary.health_endpoints import Check, add_health_routes
from tributary.metrics_endpoint import add_metrics_route


def create_edge_app(proxy: EdgeProxy, ready_checks: Sequence[Check] = ()) -> web.Application:
    app = web.Application()
    add_read_only_resources(app, ((route, proxy.handle) for route in PLAYBACK_ROUTES))
    add_metrics_route(app)
    add_health_routes(app, ready_checks)
    return app
