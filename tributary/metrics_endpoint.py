"""``GET /metrics``: every part's Prometheus metrics, in the text exposition format, and the
HTTP latency of every request the role serves (:mod:`tributary.http_metrics`).

Each package defines its own metrics next to the code that moves them (``packager/metrics.py``
…); the node only exposes the process's default registry. Every role's application calls
:func:`add_metrics_route`, which is why it also installs the HTTP timing middleware: no role
can serve metrics without timing its requests. ``docs/observability.md`` lists every metric.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tributary.http_metrics import add_http_metrics


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(), headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST}
    )


def add_metrics_route(app: web.Application) -> None:
    app.router.add_get("/metrics", _metrics)
    add_http_metrics(app)
