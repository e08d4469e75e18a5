"""The edge's Prometheus metrics, exported at its ``/metrics``.

Labels are bounded: outcomes and kinds are fixed sets, origins come from the configuration.
Every viewer request is counted once, under exactly one outcome, so the outcomes add up to the
requests and ratios between them (the hit ratio, ``docs/observability.md``) mean what they say.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

OUTCOMES: Final = ("hit", "disk", "collapsed", "miss", "stale", "storage", "denied", "error", "cancelled")
REQUESTS = Counter(
    "tributary_edge_requests",
    "Viewer requests by outcome: hit (memory), disk (disk tier), collapsed (answered by an origin "
    "fetch another request had started), miss (started an origin fetch), stale "
    "(stale-if-error copy), storage (object storage fallback), denied (playback token refused), "
    "error (bad request, or nothing upstream answered), cancelled (the viewer left first).",
    ["outcome"],
)
ORIGIN_FETCHES = Counter(
    "tributary_edge_origin_fetches",
    "Requests sent to an origin (a failed one that is retried on the next origin counts twice).",
    ["origin"],
)
UPSTREAM_ERRORS = Counter(
    "tributary_edge_upstream_errors",
    "Origin requests that failed (connection error, timeout or 5xx).",
    ["origin"],
)
BYTES_SERVED = Counter("tributary_edge_served_bytes", "Response body bytes sent to viewers.")
CACHE_BYTES = Gauge("tributary_edge_cache_bytes", "Bytes held by the edge's cache.", ["tier"])
CACHE_ENTRIES = Gauge("tributary_edge_cache_entries", "Objects held by the edge's cache.", ["tier"])
LATENCY = Histogram(
    "tributary_edge_request_seconds",
    "Time to answer a viewer, blocking playlist requests included (they wait for the origin).",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
