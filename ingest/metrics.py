"""Ingest metrics: what publishers send and what is dropped before it reaches the packager.

* ``tributary_ingest_received_bytes_total{protocol, kind}``: media payload bytes as they arrive
  (RTMP: FLV audio/video tag bodies; WHIP: RTP payloads, retransmissions included). The
  bit rate is ``8 * rate(...)`` in PromQL; labels are fixed sets.
* ``tributary_ingest_stream_bits_per_second{protocol, stream}``: one series per publisher
  connected right now, the bit rate it sent over the last :data:`BITRATE_WINDOW` seconds.
  This is the one ingest metric labelled by stream, on purpose: operators ask "what is this
  stream sending", and a counter per stream would keep a series for every stream the node ever
  saw. The series is computed when Prometheus scrapes and exists only while its publisher is
  connected (:meth:`PublishMeter.close` removes it), so the series count is bounded by the
  node's concurrent publishers (``whip.max_sessions`` plus RTMP publishers), not by history.
* ``tributary_ingest_dropped_frames_total{protocol, reason}``: frames an ingest protocol
  received and threw away (see :data:`DropReason`). Frames the packager drops afterwards are
  ``tributary_packager_dropped_frames_total`` (:mod:`packager.metrics`): the packager never
  knows which protocol fed it.

Counting is cheap enough for every packet: children are resolved once per publish, and the
per-stream window keeps one sample every :data:`_SAMPLE_EVERY` seconds.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from typing import Final, Literal

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from packager.media import MediaKind

IngestProtocol = Literal["rtmp", "whip"]
DropReason = Literal[
    "unsupported_codec",  # RTMP: video other than H.264, audio no decoder exists for
    "malformed",  # RTMP: a tag that cannot be parsed (the connection is closed with it)
    "decode_error",  # RTMP: non-AAC audio the transcoder could not decode
    "encoder_behind",  # WHIP: the encode thread is a second behind; video is shed meanwhile
    "frame_rate",  # WHIP: the source is faster than whip.frame_rate (two frames, one slot)
    "before_video",  # WHIP: audio before the first video frame fixes the configuration
    "no_timestamp",  # WHIP: a decoded frame without a presentation time
]

BITRATE_WINDOW: Final = 5.0
"""Seconds the per-stream bit rate is averaged over: a few GOPs, so keyframes do not make it
jump, short enough to show a publisher's bandwidth trouble within one scrape interval."""
_SAMPLE_EVERY: Final = 0.5

RECEIVED_BYTES = Counter(
    "tributary_ingest_received_bytes",
    "Media payload bytes received from publishers (RTMP tag bodies, WHIP RTP payloads).",
    ["protocol", "kind"],
)
DROPPED_FRAMES = Counter(
    "tributary_ingest_dropped_frames",
    "Frames an ingest protocol received and dropped before the packager, by reason.",
    ["protocol", "reason"],
)


class PublishMeter:
    """One publisher's received bytes: the protocol-wide counter and its stream's bit rate.

    Used on the event loop only (both protocols receive media there)."""

    __slots__ = ("protocol", "stream", "_counters", "_total", "_samples")

    def __init__(self, protocol: IngestProtocol, stream: str) -> None:
        self.protocol = protocol
        self.stream = stream
        self._counters = {kind: RECEIVED_BYTES.labels(protocol, kind) for kind in ("video", "audio")}
        self._total = 0
        self._samples: deque[tuple[float, int]] = deque([(time.monotonic(), 0)])
        """``(monotonic time, bytes received by then)``: the oldest is the newest sample at
        least a window old, so the window's start is always covered."""
        _STREAMS.add(self)

    def received(self, kind: MediaKind, size: int) -> None:
        self._counters[kind].inc(size)
        self._total += size
        now = time.monotonic()
        if now - self._samples[-1][0] >= _SAMPLE_EVERY:
            self._samples.append((now, self._total))
            self._forget_before(now - BITRATE_WINDOW)

    def bits_per_second(self, now: float) -> float:
        """Average over (the newest sample at least a window old, now]: a window and at most
        one sampling step when media flows, longer (so falling towards 0) when it stalls."""
        self._forget_before(now - BITRATE_WINDOW)
        since, received = self._samples[0]
        elapsed = now - since
        return (self._total - received) * 8 / elapsed if elapsed > 0 else 0.0

    def close(self) -> None:
        """The publisher left: its stream's series goes with it."""
        _STREAMS.discard(self)

    def _forget_before(self, start: float) -> None:
        samples = self._samples
        while len(samples) > 1 and samples[1][0] <= start:
            samples.popleft()


def dropped(protocol: IngestProtocol, reason: DropReason) -> None:
    """One frame dropped (called from the loop or an encode thread: counters are thread-safe)."""
    DROPPED_FRAMES.labels(protocol, reason).inc()


class _StreamBitrates(Collector):
    """Computes ``tributary_ingest_stream_bits_per_second`` at scrape time from the meters of
    the publishers connected now, so a departed publisher leaves no stale series behind."""

    def __init__(self) -> None:
        self._meters: set[PublishMeter] = set()

    def add(self, meter: PublishMeter) -> None:
        self._meters.add(meter)

    def discard(self, meter: PublishMeter) -> None:
        self._meters.discard(meter)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        now = time.monotonic()
        rates: dict[tuple[str, str], float] = {}
        # Keyed by labels: two meters of one stream (the packager allows one publisher per
        # stream, but ingest does not rely on it) must add up, not become duplicate series.
        for meter in list(self._meters):
            key = (meter.protocol, meter.stream)
            rates[key] = rates.get(key, 0.0) + meter.bits_per_second(now)
        for labels, rate in sorted(rates.items()):
            family.add_metric(labels, rate)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "tributary_ingest_stream_bits_per_second",
            f"Bit rate each connected publisher sent over the last {BITRATE_WINDOW:g} s "
            "(media payload); the series ends when the publisher leaves.",
            labels=["protocol", "stream"],
        )


_STREAMS = _StreamBitrates()
REGISTRY.register(_STREAMS)
