"""The packager's Prometheus metrics (``prometheus_client``), exported by the node at /metrics.

Labels name renditions, never streams: stream names are unbounded, and a time series per
stream would grow the registry for as long as the node runs.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LIVE_STREAMS = Gauge("tributary_live_streams", "Live streams on this node (in grace included).")
RUNGS_ENCODING = Gauge(
    "tributary_ladder_rungs_encoding", "Ladder renditions being encoded now.", ["rendition"]
)
RENDITIONS_DROPPED = Counter(
    "tributary_ladder_renditions_dropped",
    "Encoded renditions dropped mid-stream: shed because the machine could not encode them in "
    "real time, or no longer aligned with the passthrough.",
    ["rendition", "reason"],
)
