"""Chat metrics, in the process's default Prometheus registry (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("tributary_chat_connections", "Socket.IO connections on this node", ["signed_in"])
MESSAGES = Counter("tributary_chat_messages_total", "Messages accepted, by room kind", ["kind"])
REFUSED = Counter("tributary_chat_refused_events_total", "Events refused, by reason", ["code"])
DROPPED = Counter(
    "tributary_chat_dropped_connections_total", "Connections the server dropped, by reason", ["reason"]
)
HANDLING = Histogram(
    "tributary_chat_event_seconds",
    "Time to handle one client event, by event",
    ["event"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
