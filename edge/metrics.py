"""The edge's Prometheus metrics, exported at its ``/metrics``.

Labels are bounded: outcomes and kinds are fixed sets, origins come from the configuration.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "tributary_edge_requests",
    "Viewer requests by outcome: hit (memory), disk, miss (fetched), stale (stale-if-error), "
    "storage (object storage fallback), denied (bad playback token), error (no upstream).",
    ["outcome"],
)
COLLAPSED = Counter(
    "tributary_edge_collapsed_requests", "Requests that joined an origin fetch already in flight."
)
ORIGIN_FETCHES = Counter("tributary_edge_origin_fetches", "Requests sent to an origin.", ["origin"])
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
