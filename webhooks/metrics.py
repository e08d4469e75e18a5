"""Webhook metrics, exported at the worker's (or the node's) ``/metrics``.

Endpoints are labelled by their position in ``webhooks.urls`` ("0", "1", …), never by URL: a
URL may carry a token, and positions keep the label set as small as the list.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ATTEMPTS = Counter(
    "tributary_webhook_attempts",
    "Requests sent, by result: ok (2xx), http_error (any other status), timeout, connection_error.",
    ["endpoint", "result"],
)
DELIVERIES = Counter(
    "tributary_webhook_deliveries",
    "Deliveries finished: delivered, or failed (every try used up).",
    ["endpoint", "outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "tributary_webhook_attempt_seconds",
    "Time one request took, from sending to the receiver's answer (or the failure).",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)
DELIVERY_LAG = Histogram(
    "tributary_webhook_delivery_lag_seconds",
    "From an event being recorded to its delivery to an endpoint, retries included.",
    ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800, 3600, 6 * 3600, 86_400),
)
