"""A WHIP publisher (aiortc: a synthetic camera and microphone) is metered like an RTMP one:
RTP payload bytes by kind, a bitrate series for its stream while it is connected, and the
frames the ingest drops (here: a 60 fps camera into the 30 fps ingest encode)."""

from __future__ import annotations

import asyncio

from tests.ingest.whip.client import WhipClient
from tests.ingest.whip.conftest import encode_threads, wait_until
from tests.ingest.whip.synthetic import BeepMicrophone, FlashCamera
from tests.observability.prometheus import delta, scrape, scrape_until
from tests.support.llhls import wait_playlist
from tests.support.nodes import RunningNode

STREAM_BITRATE = "tributary_ingest_stream_bits_per_second"


async def test_a_whip_publisher_is_metered_and_its_series_ends_with_it(origin: RunningNode, http):
    name, key = await origin.new_stream()
    before = await scrape(http, origin.http)
    client = WhipClient(http, f"{origin.http}/whip", key, [FlashCamera(fps=60), BeepMicrophone()])
    answer = await client.publish()
    assert answer.status == 201, answer.body
    try:
        await wait_playlist(http, origin.playlist_url(name))
        await asyncio.sleep(1.0)  # a second of media, so every count below has something in it
        during = await scrape_until(http, origin.http, lambda s: s.value(STREAM_BITRATE, stream=name) > 0)
        sent = await payload_bytes_sent(client)
    finally:
        assert await client.delete() == 200
    after = await scrape_until(http, origin.http, lambda s: not s.samples(STREAM_BITRATE, stream=name))

    [series] = during.samples(STREAM_BITRATE, stream=name)
    assert series.labels["protocol"] == "whip"
    received = "tributary_ingest_received_bytes_total"
    # The publisher's own count (RTP payload octets, RFC 3550), read while it still sent: the
    # node received about that much (it kept sending after; UDP may lose a little even on
    # loopback when the receiving loop is busy).
    assert sent["video"] > 0 and sent["audio"] > 0, sent
    for kind in ("video", "audio"):
        assert delta(before, after, received, protocol="whip", kind=kind) >= 0.9 * sent[kind], kind
    assert delta(before, after, "tributary_ingest_dropped_frames_total", protocol="whip", reason="frame_rate") > 0
    assert delta(before, after, "tributary_packager_lag_seconds_count", rendition="source") > 0
    await wait_until(lambda: not encode_threads(), 5, "the encode thread to end")


async def payload_bytes_sent(client: WhipClient) -> dict[str, int]:
    """RTP payload bytes the publisher has sent, by kind (aiortc's outbound-rtp bytesSent)."""
    report = await client.pc.getStats()
    return {stats.kind: stats.bytesSent for stats in report.values() if stats.type == "outbound-rtp"}
