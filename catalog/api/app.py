"""The ``/api/v1`` application: middlewares, then every resource's route module.

Adding a resource: a data-access module under ``catalog/`` (SQL lives there), a route module
here with ``add_routes(api)``, and one entry in :data:`ROUTE_MODULES`.
"""

from __future__ import annotations

from aiohttp import web

from catalog.api import accounts, channels, live_streams, videos
from catalog.api import comments, history, playlists, related, subscriptions
from catalog.api import reactions, search, trending, video_views
from catalog.api.auth import rate_limit_identity
from catalog.api.context import CONTEXT, ApiContext
from catalog.api.errors import error_middleware
from catalog.api.openapi import add_openapi_route
from catalog.api.rate_limits import write_limit_middleware
from catalog.api.views import text_guard_middleware

PREFIX = "/api/v1"
ROUTE_MODULES = (accounts, channels, live_streams, videos, comments, subscriptions, history, playlists, related,
                 reactions, video_views, search, trending)


def create_api(ctx: ApiContext) -> web.Application:
    """Mount with ``app.add_subapp(PREFIX, create_api(ctx))``."""
    api = web.Application(
        middlewares=[
            error_middleware,  # outermost: everything below answers in the API's error shape
            text_guard_middleware,
            write_limit_middleware(ctx.rate_limits, rate_limit_identity),
        ]
    )
    api[CONTEXT] = ctx
    for module in ROUTE_MODULES:
        module.add_routes(api)
    add_openapi_route(api)
    return api
