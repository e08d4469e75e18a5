"""Received RTP payload bytes of one WebRTC track, for the ingest metrics (:mod:`ingest.metrics`).

aiortc counts packets per receiver but bytes only per transport (``getStats()``), and a bundled
publish carries audio and video on one transport. So the receiver's ``_handle_rtp_packet``
(what aiortc's DTLS transport calls for every RTP packet routed to the receiver, part of its
internal ``RtpReceiver`` protocol) is wrapped on the instance, the way
:mod:`ingest.whip.sender_reports` wraps its RTCP handler. Without it (a future aiortc) a
warning is logged and the publish goes on uncounted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiortc import RTCRtpReceiver

log = structlog.get_logger(__name__)


def count_rtp_bytes(receiver: RTCRtpReceiver, count: Callable[[int], None]) -> None:
    """Call ``count(payload bytes)`` for each RTP packet ``receiver`` is handed."""
    original = getattr(receiver, "_handle_rtp_packet", None)
    if original is None:
        log.warning("whip.rtp_bytes_unavailable", reason="aiortc internals changed")
        return
    handle: Callable[..., Awaitable[None]] = original

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        count(len(packet.payload))
        await handle(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle_rtp_packet  # type: ignore[method-assign]
