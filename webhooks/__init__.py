"""Webhooks: ``stream.started``, ``stream.ended``, ``video.ready`` and ``video.failed`` POSTed to
the operator's endpoints, signed, with retries (docs/webhooks.md).

- ``events.py``: the event types and the JSON body;
- ``signatures.py``: ``Tributary-Signature``: :func:`sign`, and :func:`verify` for receivers;
- ``outbox.py``: the durable outbox in PostgreSQL (migration 0009: video events are recorded by
  a trigger, in the transaction that changes the status);
- ``stream_events.py``: stream events, recorded by the node that runs the stream;
- ``dispatcher.py``, ``delivery.py``, ``backoff.py``: sending, inside workers; ``metrics.py``.

Only the standard-library parts are imported here, so a receiver's ``from webhooks import
verify`` loads no server code.
"""

from webhooks.events import EventType
from webhooks.signatures import DEFAULT_TOLERANCE, SIGNATURE_HEADER, InvalidSignature, sign, verify

__all__ = ["DEFAULT_TOLERANCE", "SIGNATURE_HEADER", "EventType", "InvalidSignature", "sign", "verify"]
