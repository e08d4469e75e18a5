"""The packager's Prometheus metrics (``prometheus_client``), exported by the node at /metrics.

Labels name renditions, never streams: stream names are unbounded, and a time series per
stream would grow the registry for as long as the node runs.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

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
DROPPED_FRAMES = Counter(
    "tributary_packager_dropped_frames",
    "Frames a publish session received from ingest and dropped: no_config (media before, or "
    "without, its codec configuration), audio_ahead (audio running ahead of the publisher's "
    "clock, dropped until it is back in sync: the timeline never steps back).",
    ["kind", "reason"],
)
PART_LAG = Histogram(
    "tributary_packager_lag_seconds",
    "Time from the ingest arrival of a part's first frame (the stream's program-date-time of "
    "the part) to the part being published in its rendition's window: the part's own duration "
    "plus muxing (and, for encoded renditions, decoding and encoding).",
    ["rendition"],
    buckets=(0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
)


def part_published(rendition: str, wallclock: float) -> None:
    """A part of ``rendition`` whose first frame arrived at ``wallclock`` is now served.

    ``wallclock`` comes from the stream's program-date-time mapping (the earliest arrival
    consistent with the media clock), so a publisher sending faster than real time could
    place it in the future: such a part counts as no lag rather than a negative one."""
    PART_LAG.labels(rendition).observe(max(0.0, time.time() - wallclock))
