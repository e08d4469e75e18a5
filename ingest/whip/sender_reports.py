"""RTCP sender reports of one received track, as "sender wall clock at this track's pts 0".

aiortc reads sender reports but keeps them private (only the NTP half reaches ``getStats()``,
without the RTP timestamp it belongs to), and the decoded frames' ``pts`` are offset by the
first RTP timestamp, which it also keeps private. So this module reaches into one receiver:

* ``RTCRtpReceiver._handle_rtcp_packet`` (called by the DTLS transport for every RTCP packet
  routed to the receiver) is wrapped on the instance to see each ``RtcpSrPacket``;
* ``RTCRtpReceiver.__timestamp_mapper._origin`` is the RTP timestamp decoded pts count from.

Both exist in aiortc 1.x (pinned ``<2`` in pyproject.toml). If a future version lacks either,
:func:`watch_sender_reports` logs a warning and the session keeps its arrival-time A/V anchors
(see :mod:`ingest.whip.av_clock`: about 80 ms apart with aiortc's jitter buffer);
``tests/ingest/whip/test_aiortc_publish.py`` measures sync end to end and would notice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from aiortc import RTCRtpReceiver
from aiortc.rtp import RtcpSrPacket

log = structlog.get_logger(__name__)

_WRAP: Final = 1 << 32
_MAPPER: Final = "_RTCRtpReceiver__timestamp_mapper"


def _signed32(value: int) -> int:
    value %= _WRAP
    return value - _WRAP if value >= _WRAP // 2 else value


class TrackPosition:
    """The newest decoded frame of a track: pts in RTP ticks and the RTP clock rate.

    Kept by the session's reader. Sender reports are related to it rather than to pts 0, so
    32-bit RTP wrap-around (every 13 h of 48 kHz audio, 6.6 h of video) does not matter.
    """

    __slots__ = ("rate", "ticks")

    def __init__(self) -> None:
        self.ticks: int | None = None
        self.rate = 0


def watch_sender_reports(
    receiver: RTCRtpReceiver,
    position: TrackPosition,
    ignored_ssrcs: frozenset[int],
    report: Callable[[float], None],
) -> None:
    """Call ``report(ntp_zero)`` for each sender report of ``receiver``'s media stream.

    ``ntp_zero`` is the sender's NTP time, in seconds, at the track's pts 0. Changes nothing
    (and says so) when this aiortc does not have what it needs.
    """
    mapper = getattr(receiver, _MAPPER, None)
    original = getattr(receiver, "_handle_rtcp_packet", None)
    if mapper is None or not hasattr(mapper, "_origin") or original is None:
        log.warning("whip.sender_reports_unavailable", reason="aiortc internals changed")
        return
    handle: Callable[[Any], Awaitable[None]] = original

    async def handle_rtcp_packet(packet: Any) -> None:
        if (
            isinstance(packet, RtcpSrPacket)
            and packet.ssrc not in ignored_ssrcs
            and mapper._origin is not None
            and position.ticks is not None
        ):
            info = packet.sender_info
            ntp = (info.ntp_timestamp >> 32) + (info.ntp_timestamp & 0xFFFFFFFF) / _WRAP
            newest_rtp = mapper._origin + position.ticks
            report_ticks = position.ticks + _signed32(info.rtp_timestamp - newest_rtp)
            report(ntp - report_ticks / position.rate)
        await handle(packet)

    receiver._handle_rtcp_packet = handle_rtcp_packet  # type: ignore[method-assign]
