"""HTTP latency on every role: ``tributary_http_request_seconds{method, route, status}``.

One aiohttp middleware, installed by :func:`tributary.metrics_endpoint.add_metrics_route`, so
every role that serves ``/metrics`` times its requests without wiring of its own. It is the
outermost middleware of the role's application and so also times sub-applications (``/api/v1``,
``/api/v1/uploads``) with their own middlewares, errors included.

Every label is a small fixed set, whatever clients send:

* ``route`` is the matched resource's canonical path (``/api/v1/videos/{video_id}``), never
  the requested path; a request no route matches (404, 405) is :data:`UNMATCHED`;
* ``method`` is one of :data:`METHODS`, anything else (aiohttp accepts any token) ``OTHER``;
* ``status`` is the class (``2xx``, ``4xx``, ``5xx``…), or ``cancelled`` when the client
  went away before the answer (aiohttp cancels the handler).

WebSocket upgrades (chat over Socket.IO) are not timed: their "latency" is the life of the
connection and would bury every other request in the top bucket. Socket.IO's long-polling
requests are held open by design (up to the ping interval), as are LL-HLS blocking playlist
reloads (until the part exists): both are timed under their own ``route``, which is how
``docs/observability.md`` keeps them out of latency percentiles.

Per request this costs two clock reads, one dictionary lookup for the labelled child and one
histogram observation (a few microseconds; see the figure in ``docs/observability.md``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from prometheus_client import Histogram

UNMATCHED: Final = "unmatched"
OTHER: Final = "OTHER"
CANCELLED: Final = "cancelled"
METHODS: Final = frozenset(
    (hdrs.METH_GET, hdrs.METH_HEAD, hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH,
     hdrs.METH_DELETE, hdrs.METH_OPTIONS)
)
_STATUS_CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")
_SERVER_ERROR: Final = "5xx"

REQUEST_SECONDS = Histogram(
    "tributary_http_request_seconds",
    "Time from a request's handler being called to its answer (or the client leaving), by "
    "method, matched route and status class; WebSocket upgrades are not timed.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_children: dict[tuple[str, str, str], Histogram] = {}
"""Labelled histogram children by label values: ``labels()`` validates and locks on every
call, a plain lookup does not. Bounded like the labels themselves."""


def _status_class(status: int) -> str:
    return _STATUS_CLASSES[min(max(status // 100, 1), 5) - 1]


def _observe(request: web.Request, status: str, seconds: float) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else UNMATCHED
    method = request.method if request.method in METHODS else OTHER
    key = (method, route, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_SECONDS.labels(method, route, status)
    child.observe(seconds)


@web.middleware
async def http_metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
        return await handler(request)
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as answer:  # an answer raised, not a failure
        _observe(request, _status_class(answer.status), time.perf_counter() - started)
        raise
    except asyncio.CancelledError:
        _observe(request, CANCELLED, time.perf_counter() - started)
        raise
    except Exception:  # aiohttp answers 500
        _observe(request, _SERVER_ERROR, time.perf_counter() - started)
        raise
    _observe(request, _status_class(response.status), time.perf_counter() - started)
    return response


def add_http_metrics(app: web.Application) -> None:
    """Time every request ``app`` (and its sub-applications) serves; outermost, so the time
    includes every other middleware."""
    app.middlewares.insert(0, http_metrics_middleware)
