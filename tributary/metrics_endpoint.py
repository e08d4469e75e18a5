"""``GET /metrics``: every part's Prometheus metrics, in the text exposition format.

Each package defines its own metrics next to the code that moves them (``packager/metrics.py``
…); the node only exposes the process's default registry.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(), headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST}
    )


def add_metrics_route(app: web.Application) -> None:
    app.router.add_get("/metrics", _metrics)
