"""A live stream seen through the metrics: ffmpeg pushes real RTMP (and writes the very same FLV
to a file, the truth the byte counts are checked against), viewers fetch through an edge, and
``/metrics`` of the origin and the edge is scraped and parsed as Prometheus would.

The tests share one push (``pushed``) and run in file order: the ones that need the publisher
connected come first, the last one waits for it to leave.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import m3u8
import pytest

from ingest.rtmp.messages import MessageType
from tests.observability.conftest import RUNG
from tests.observability.prometheus import Scrape, delta, scrape, scrape_until
from tests.support.edges import RunningEdge
from tests.support.ffmpeg import Source
from tests.support.ffmpeg_tee import start_tee_publish
from tests.support.llhls import all_parts, fetch, wait_playlist
from tests.support.nodes import RunningNode
from tests.support.rtmp_client import AUDIO_CSID, VIDEO_CSID, RawClient

PUSH_SECONDS = 8.0
STREAM_BITRATE = "tributary_ingest_stream_bits_per_second"
RECEIVED = "tributary_ingest_received_bytes_total"
LAG_COUNT = "tributary_packager_lag_seconds_count"
EDGE_REQUESTS = "tributary_edge_requests_total"
HTTP_COUNT = "tributary_http_request_seconds_count"


@dataclass
class Pushed:
    name: str
    sent: Path
    """The FLV file ffmpeg wrote next to its RTMP output: the same packets, byte for byte."""
    publisher: asyncio.subprocess.Process
    before: Scrape
    """The origin's metrics before the push started."""


@pytest.fixture(scope="module")
async def pushed(origin: RunningNode, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pushed]:
    name, key = await origin.new_stream()
    sent = tmp_path_factory.mktemp("push") / "sent.flv"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        before = await scrape(http, origin.http)
        publisher = await start_tee_publish([f"{origin.rtmp}/{key}", str(sent)], Source(seconds=PUSH_SECONDS))
        try:
            await wait_playlist(http, origin.playlist_url(name))
            yield Pushed(name, sent, publisher, before)
        finally:
            if publisher.returncode is None:
                publisher.kill()
            await publisher.wait()


async def test_a_publisher_has_a_bitrate_series_of_its_own(pushed: Pushed, origin: RunningNode, http):
    """The per-stream gauge agrees with the protocol-wide byte counter over the same seconds."""
    first = await scrape(http, origin.http)
    await asyncio.sleep(2.0)
    second = await scrape(http, origin.http)
    [series] = second.samples(STREAM_BITRATE, stream=pushed.name)
    assert series.labels == {"protocol": "rtmp", "stream": pushed.name}
    counted = delta(first, second, RECEIVED, protocol="rtmp") * 8 / 2.0
    assert counted > 100_000, "a 360p30 H.264 + 96 kb/s AAC push sends more than 100 kb/s"
    assert 0.5 < series.value / counted < 2.0, (series.value, counted)


async def test_the_edge_counts_hits_collapsed_requests_and_origin_fetches(
    pushed: Pushed, origin: RunningNode, edge: RunningEdge, http
):
    rendition = f"/live/{pushed.name}/source"
    playlist = await wait_playlist(http, f"{origin.http}{rendition}/index.m3u8")

    # One part, four viewers one after another: fetched once, then served from memory.
    part = f"{edge.http}{rendition}/{all_parts(playlist)[-1].uri}"
    before = await scrape(http, edge.http)
    caches = [(await fetch(http, part)).headers["X-Cache"] for _ in range(4)]
    after = await scrape(http, edge.http)
    assert caches == ["MISS", "HIT", "HIT", "HIT"]
    assert delta(before, after, EDGE_REQUESTS, outcome="miss") == 1
    assert delta(before, after, EDGE_REQUESTS, outcome="hit") == 3
    assert delta(before, after, "tributary_edge_origin_fetches_total", origin=origin.http) == 1

    # Five viewers block on a part that cannot exist for another part's time: one origin
    # request, which the four others join (a miss to each viewer, "collapsed" to the metrics).
    msn = playlist.media_sequence + len(playlist.segments) - 1
    ahead = {"_HLS_msn": str(msn), "_HLS_part": str(len(playlist.segments[-1].parts) + 1)}
    before = after
    answers = await asyncio.gather(*(fetch(http, f"{edge.http}{rendition}/index.m3u8", **ahead) for _ in range(5)))
    after = await scrape(http, edge.http)
    assert [(a.status, a.headers["X-Cache"]) for a in answers] == [(200, "MISS")] * 5
    assert delta(before, after, EDGE_REQUESTS, outcome="miss") == 1
    assert delta(before, after, EDGE_REQUESTS, outcome="collapsed") == 4
    assert delta(before, after, EDGE_REQUESTS) == 5, "every request counted under one outcome"
    assert delta(before, after, "tributary_edge_origin_fetches_total") == 1


async def test_http_latency_by_method_route_and_status_class(
    pushed: Pushed, origin: RunningNode, edge: RunningEdge, http
):
    """Routes are canonical paths (sub-applications included), never what the client asked
    for; unknown paths and methods fall into fixed labels."""
    before = await scrape(http, origin.http)
    requests = [
        ("GET", f"/live/{pushed.name}/master.m3u8", 200),
        ("GET", "/api/v1/live-now", 200),  # the API sub-application
        ("OPTIONS", "/api/v1/uploads", 204),  # the tus sub-application
        ("GET", "/api/v1/no-such-thing", 404),  # inside a sub-application's prefix
        ("GET", f"/{'x' * 2000}", 404),
        ("DELETE", "/healthz", 405),
        ("PROPFIND", "/metrics", 405),  # a method outside the fixed set
    ]
    for method, path, status in requests:
        async with http.request(method, origin.http + path) as response:
            assert response.status == status, (method, path, await response.text())
    after = await scrape(http, origin.http)
    expected = [
        ("GET", "/live/{stream}/master.m3u8", "2xx", 1),
        ("GET", "/api/v1/live-now", "2xx", 1),
        ("OPTIONS", "/api/v1/uploads", "2xx", 1),
        ("GET", "unmatched", "4xx", 2),
        ("DELETE", "unmatched", "4xx", 1),
        ("OTHER", "unmatched", "4xx", 1),
        ("GET", "/metrics", "2xx", 1),  # the first scrape, timed once it was answered
    ]
    for method, route, status, count in expected:
        labels = {"method": method, "route": route, "status": status}
        assert delta(before, after, HTTP_COUNT, **labels) == count, labels
    # The registry is the process's: other tests' requests (other statuses) are in it too.
    series = {"method": "GET", "route": "/api/v1/live-now", "status": "2xx"}
    buckets = after.samples("tributary_http_request_seconds_bucket", **series)
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == after.value(HTTP_COUNT, **series)
    routes = {s.labels["route"] for s in after.samples(HTTP_COUNT)}
    assert not [r for r in routes if pushed.name in r or "xxx" in r], routes

    await fetch(http, f"{edge.http}/live/{pushed.name}/master.m3u8")
    await fetch(http, f"{edge.http}/not/a/playback/url")
    at_edge = await scrape(http, edge.http)
    assert at_edge.value(HTTP_COUNT, method="GET", route="/live/{stream}/master.m3u8", status="2xx") >= 1
    assert at_edge.value(HTTP_COUNT, method="GET", route="unmatched", status="4xx") >= 1


async def test_a_hostile_publisher_has_its_frames_counted_as_dropped_and_disturbs_nobody(
    pushed: Pushed, origin: RunningNode, http
):
    """Video in a codec the node cannot package, audio before its configuration, then a tag
    cut short: each drop is counted by reason, the connection is closed, its bitrate series
    goes, and the stream ffmpeg pushes keeps growing."""
    name, key = await origin.new_stream()
    playlist_url = origin.playlist_url(pushed.name)
    parts_before = len(all_parts(m3u8.loads((await fetch(http, playlist_url)).text)))
    before = await scrape(http, origin.http)
    client = await RawClient.connect(origin.node.rtmp.port)
    try:
        status = await client.publish(key)
        assert status[3]["code"] == "NetStream.Publish.Start"  # type: ignore[index]
        sorenson = bytes((0x12,)) + bytes(40)  # keyframe, codec 2 (Sorenson H.263)
        for timestamp in range(3):
            client.send(VIDEO_CSID, MessageType.VIDEO, sorenson, stream_id=1, timestamp=timestamp)
        client.send(AUDIO_CSID, MessageType.AUDIO, b"\xaf\x01" + bytes(100), stream_id=1)  # no config
        await client.writer.drain()
        during = await scrape_until(http, origin.http, lambda s: s.value(STREAM_BITRATE, stream=name) > 0)
        client.send(VIDEO_CSID, MessageType.VIDEO, b"\x17\x01\x00", stream_id=1)  # AVC, header cut
        await client.expect_closed()
    finally:
        client.close()
    after = await scrape_until(http, origin.http, lambda s: not s.samples(STREAM_BITRATE, stream=name))
    assert during.samples(STREAM_BITRATE, stream=name)[0].labels["protocol"] == "rtmp"
    dropped = "tributary_ingest_dropped_frames_total"
    assert delta(before, after, dropped, protocol="rtmp", reason="unsupported_codec") == 3
    assert delta(before, after, dropped, protocol="rtmp", reason="malformed") == 1
    assert delta(before, after, "tributary_packager_dropped_frames_total", kind="audio", reason="no_config") == 1
    assert delta(before, after, RECEIVED, protocol="rtmp") > 3 * len(sorenson)
    assert after.samples(STREAM_BITRATE, stream=pushed.name), "the other publisher is still there"
    assert origin.node.rtmp.session_count == 1
    await asyncio.sleep(0.5)
    assert len(all_parts(m3u8.loads((await fetch(http, playlist_url)).text))) > parts_before


async def test_when_the_publisher_leaves(pushed: Pushed, origin: RunningNode, http):
    """Bytes received match what ffmpeg sent, every rendition's parts were timed from ingest to
    publication, and the stream's bitrate series is gone."""
    await asyncio.wait_for(pushed.publisher.wait(), PUSH_SECONDS + 20)
    assert pushed.publisher.returncode == 0
    after = await scrape_until(http, origin.http, lambda s: not s.samples(STREAM_BITRATE, stream=pushed.name))

    sent = _flv_media_bytes(pushed.sent.read_bytes())
    for kind in ("video", "audio"):
        received = delta(pushed.before, after, RECEIVED, protocol="rtmp", kind=kind)
        # Exactly what was sent, plus the little the hostile publisher test sent meanwhile.
        assert sent[kind] <= received <= sent[kind] + 1024, (kind, sent[kind], received)

    master = m3u8.loads((await fetch(http, f"{origin.http}/live/{pushed.name}/master.m3u8")).text)
    renditions = [variant.uri.split("/")[0] for variant in master.playlists]
    assert renditions == ["source", f"{RUNG}p"]
    for rendition in renditions:
        parts = delta(pushed.before, after, LAG_COUNT, rendition=rendition)
        assert parts >= (PUSH_SECONDS - 3) / 0.2, (rendition, parts)
    # The passthrough publishes a part its duration (0.2 s) plus muxing after its first frame
    # arrived: 0.2-0.3 s here when idle, within a second even on a loaded machine.
    source_parts = delta(pushed.before, after, LAG_COUNT, rendition="source")
    mean = delta(pushed.before, after, "tributary_packager_lag_seconds_sum", rendition="source") / source_parts
    within = delta(pushed.before, after, "tributary_packager_lag_seconds_bucket", rendition="source", le="1.0")
    assert 0.15 < mean and within / source_parts > 0.8, (mean, within, source_parts)


def _flv_media_bytes(flv: bytes) -> dict[str, int]:
    """Bytes of the audio and video tag bodies of an FLV file (FLV v10.1 annex E): the RTMP
    audio/video message payloads ffmpeg sent for the same packets."""
    assert flv[:3] == b"FLV"
    position = int.from_bytes(flv[5:9], "big") + 4
    totals = {"audio": 0, "video": 0}
    while position + 11 <= len(flv):
        kind, size = flv[position] & 0x1F, int.from_bytes(flv[position + 1 : position + 4], "big")
        if kind in (8, 9):
            totals["audio" if kind == 8 else "video"] += size
        position += 11 + size + 4
    return totals
