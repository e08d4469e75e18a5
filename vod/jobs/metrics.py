"""The job queue's Prometheus metrics, exported at the worker's (or the node's) ``/metrics``.

Labels are bounded: lanes are a fixed set, tasks are the registry's names (never video ids).
``tributary_jobs_queued`` is the shared queue as one worker last read it, so every worker
reports the same figure: aggregate it with ``max``, not ``sum``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

QUEUED = Gauge(
    "tributary_jobs_queued",
    "Jobs waiting in a lane (queued, or scheduled for a retry), read from Redis every few seconds.",
    ["lane"],
)
RUNNING = Gauge("tributary_jobs_running", "Jobs this worker is running now.", ["lane"])
STARTED = Counter("tributary_jobs_started", "Tries started (a retry is a new try).", ["task"])
SUCCEEDED = Counter("tributary_jobs_succeeded", "Jobs that ended successfully.", ["task"])
RETRIED = Counter(
    "tributary_jobs_retried",
    "Tries that ended in a retry: an error, a timeout, a dead worker, or a hand-back at shutdown.",
    ["task"],
)
FAILED = Counter(
    "tributary_jobs_failed", "Jobs that failed for good (every try used up).", ["task"]
)
DURATION = Histogram(
    "tributary_job_seconds",
    "Time one try ran, by how it ended (succeeded, error, cancelled: timeout or shutdown).",
    ["task", "outcome"],
    buckets=(1, 5, 15, 60, 180, 600, 1800, 3600, 7200),
)
