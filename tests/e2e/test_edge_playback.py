"""Viewers behind edges (issue 5), in headless Chromium with hls.js: live and VOD playback through
two edges in front of one origin, and live playback that survives the death of an origin.

The player is the node's own watch page pointed at an edge (tests/support/watch_page.py) for
live, and the replay test's hls.js page (``plays_to_the_end``) for VOD; every server is real:
origins are Tributary nodes fed by ffmpeg over RTMP, edges are :class:`edge.node.EdgeNode`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import asyncpg
import m3u8
import pytest
from multidict import MultiDict
from playwright.async_api import Browser
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from edge.cache_key import cache_key
from origin.hls_directives import parse_directives
from tests.support.browser import chromium
from tests.support.edges import RunningEdge, edge_factory
from tests.support.ffmpeg import Source, start_publish
from tests.support.ffmpeg_tee import start_tee_publish
from tests.support.llhls import fetch, wait_playlist
from tests.support.nodes import RunningNode, node_factory
from tests.support.role_process import live_env, role_process, with_redis_db
from tests.support.vod_playback import plays_to_the_end
from tests.support.watch_page import Viewer, watch

NO_LADDER: dict[str, Any] = {"ladder": {"heights": []}}
"""Passthrough only: one rendition, so what the player fetches does not depend on ABR."""
VIEWERS_PER_EDGE = 2
"""Each in its own browser context: contexts share no HTTP cache, so every viewer's request
reaches its edge (parts are ``immutable``; a shared browser cache would hide the second)."""
WATCH_SECONDS = 5.0
"""Seconds of media every live viewer must play (its currentTime advancing) for a pass."""


# ------------------------------------------------------------------------------- live + VOD


async def test_live_and_vod_play_through_two_edges(
    services: Any, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Two edges before one origin, two viewers on each: every viewer plays the live stream from
    its own edge, each edge asks the origin about once per object however many viewers ask it;
    then the recording, once published, plays to its end through each edge."""
    async with node_factory(services, tmp_path) as start:
        node = await start(reconnect_grace=1.0, **NO_LADDER)
        name, key = await node.new_stream()
        # Longer than the test needs: the push is stopped once the live checks are done, and
        # its end (plus the grace period) is what publishes the recording.
        pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=120))
        try:
            await wait_playlist(http, node.playlist_url(name))
            async with edge_factory(node.node.settings.data_dir) as start_edge:
                edges = [await start_edge([node.http]) for _ in range(2)]
                async with chromium() as browser:
                    await live_through_edges(browser, node, name, edges)
                pusher.terminate()  # ffmpeg ends the RTMP session cleanly on SIGTERM
                await asyncio.wait_for(pusher.wait(), 15)
                public_id, duration = await published_video(services.database_url, name, timeout=30)
                vod_urls = [f"{edge.http}/vod/{public_id}/master.m3u8" for edge in edges]
                await asyncio.gather(*(plays_to_the_end(node, url, duration) for url in vod_urls))
                for url in vod_urls:
                    await every_segment_is_cached(http, url)
        finally:
            with contextlib.suppress(ProcessLookupError):
                pusher.kill()
            await pusher.wait()


async def live_through_edges(
    browser: Browser, node: RunningNode, name: str, edges: Sequence[RunningEdge]
) -> None:
    """Open ``VIEWERS_PER_EDGE`` viewers on each edge's live master playlist, let each play
    ``WATCH_SECONDS``, then check who served them and what that cost the origin."""
    fetches_before = [edge.origins.fetches for edge in edges]
    contexts = [await browser.new_context() for _ in range(len(edges) * VIEWERS_PER_EDGE)]
    # All viewers tune in together, so they ask for (mostly) the same parts at the same time.
    everyone = await asyncio.gather(*(
        watch(context, node.http, name, f"{edges[index % len(edges)].http}/live/{name}/master.m3u8")
        for index, context in enumerate(contexts)
    ))
    viewers = [everyone[index::len(edges)] for index in range(len(edges))]

    async def plays(viewer: Viewer) -> None:
        started = await viewer.wait_time(0.1, timeout=30)
        await viewer.wait_time(started + WATCH_SECONDS, timeout=30)

    await asyncio.gather(*(plays(viewer) for viewer in everyone))
    for viewer in everyone:
        assert await viewer.fatal_errors() == [], viewer.source
        assert viewer.page_errors == [], viewer.page_errors
    for context in contexts:
        await context.close()

    for edge, group, before in zip(edges, viewers, fetches_before):
        served = [s for viewer in group for s in viewer.served]
        # The edge answered every request of its viewers (X-Cache is its stamp, the origin
        # sets none), and they played media it served.
        failed = [s for s in served if s.status != 200]
        assert served and not failed, failed[:5]
        assert {s.x_cache for s in served} <= {"HIT", "MISS"}, Counter(s.x_cache for s in served)
        assert any(s.url.endswith(".m4s") for s in served)
        asked = Counter(cache_key_of(url) for viewer in group for url in viewer.requested)
        refetched = sum(n for key, n in asked.items() if always_refetched(key))
        cacheable = [key for key in asked if not always_refetched(key)]
        fetched = edge.origins.fetches - before
        # Every viewer asks for the same parts and blocking reloads, so the edge gets each
        # cacheable object about VIEWERS_PER_EDGE times; the origin sees it about once (a
        # blocking reload asked again after its 2 s max-age is the one honest extra fetch).
        # Playlists without delivery directives are `no-cache`: each of those is a fetch.
        asked_cacheable = sum(asked[key] for key in cacheable)
        slack = max(3, len(cacheable) // 20)
        assert fetched <= len(cacheable) + refetched + slack, (fetched, len(cacheable), refetched)
        assert asked_cacheable >= 1.4 * len(cacheable), (asked_cacheable, len(cacheable))


def cache_key_of(url: str) -> str:
    """The edge's cache key of a viewer's request (only LL-HLS delivery directives count)."""
    parts = urlsplit(url)
    return cache_key(parts.path, parse_directives(MultiDict(parse_qsl(parts.query))))


def always_refetched(key: str) -> bool:
    """A playlist asked without ``_HLS_msn``: answered ``no-cache``, so every ask is a fetch."""
    return urlsplit(key).path.endswith(".m3u8") and "_HLS_msn=" not in key


async def published_video(database_url: str, stream: str, *, timeout: float) -> tuple[str, float]:
    """The public id and duration of the ready video a stream's recording became."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            row = await conn.fetchrow(
                "SELECT public_id, duration_seconds FROM videos"
                " WHERE source_metadata->>'live_stream' = $1 AND status = 'ready'",
                stream,
            )
            if row is not None:
                return row["public_id"], float(row["duration_seconds"])
            assert time.monotonic() < deadline, f"no video for {stream} after {timeout} s"
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


async def every_segment_is_cached(http: aiohttp.ClientSession, master_url: str) -> None:
    """The VOD's playlists and every media object are now hits at the edge: the browser's
    playback fetched all of them through this edge, which kept them."""
    master = await fetch(http, master_url)
    assert master.status == 200 and master.headers["X-Cache"] == "HIT"
    [variant] = m3u8.loads(master.text).playlists
    playlist_url = master_url.rsplit("/", 1)[0] + "/" + variant.uri
    got = await fetch(http, playlist_url)
    assert got.status == 200 and got.headers["X-Cache"] == "HIT"
    playlist = m3u8.loads(got.text)
    base = playlist_url.rsplit("/", 1)[0]
    inits = {s.init_section.uri for s in playlist.segments if s.init_section}
    uris = inits | {s.uri for s in playlist.segments}
    for uri in sorted(uris):
        media = await fetch(http, f"{base}/{uri}")
        assert (media.status, media.headers["X-Cache"]) == (200, "HIT"), uri


# ------------------------------------------------------------------------------- failover


@pytest.mark.parametrize("survivor", ["numbered_ahead", "numbered_behind"])
async def test_live_playback_survives_an_origin_killed_mid_stream(
    services: Any, tmp_path: Path, http: aiohttp.ClientSession, survivor: str
) -> None:
    """One edge with origins [A, B] serving one live stream; A is SIGKILLed while a viewer plays
    from the edge, and the edge serves from B without the player noticing more than a stall.

    How two origins carry "the same" live stream: one ffmpeg pushes one encode to both (tee
    muxer), so both packagers cut identical parts and segments from identical timestamps; their
    media is byte-for-byte the same (checked below). Their *names* are not: each numbers parts,
    segments and init segments from the wall-clock millisecond its stream started
    (packager/live/stream.py), so B's names are A's shifted by the milliseconds between the two
    publishes (~130 ms here: the tee connects its outputs one after the other). The tee's order
    decides the sign, and each sign is a different failover for the player:

    - ``numbered_ahead`` (A first): the blocking reload the player had pending at A names a
      segment B is already past, so B answers at once with its own names and hls.js carries on;
    - ``numbered_behind`` (B first): B refuses that reload with 400 (more than two segments
      past its live edge), hls.js reloads the playlist plainly and re-aligns on B's names
      (measured: a stall of about a second, no fatal error).

    The origins share PostgreSQL (one catalog, so one stream key works on both) but each has its
    own Redis database: the cluster-wide publish lease (ingest/publish_lease.py) rightly refuses
    one stream published on two nodes that share a Redis. Recording is off: two origins would
    each publish a video of the same stream. Origin A is a real process
    (``python -m tributary serve origin``) so that SIGKILL ends it with nothing flushed.
    """
    b_services = dataclasses.replace(services, redis_url=with_redis_db(services.redis_url, 2))
    async with (
        role_process("origin", services.database_url, with_redis_db(services.redis_url, 1),
                     tmp_path / "origin-a", live_env(**NO_LADDER)) as origin_a,
        node_factory(b_services, tmp_path) as start,
    ):
        origin_b = await start(**NO_LADDER)
        name, key = await origin_b.new_stream()
        assert origin_b.node.streams is not None
        stream = await origin_b.node.streams.by_name(name)
        assert stream is not None
        await origin_b.node.streams.set_record(stream.id, False)
        urls = {"a": f"{origin_a.rtmp}/{key}", "b": f"{origin_b.rtmp}/{key}"}
        order = ["a", "b"] if survivor == "numbered_ahead" else ["b", "a"]
        pusher = await start_tee_publish([urls[o] for o in order], Source(seconds=120))
        try:
            offset = await same_media_numbered_apart(
                http, f"{origin_a.http}/live/{name}/source/index.m3u8", origin_b.playlist_url(name)
            )
            assert offset >= 0 if survivor == "numbered_ahead" else offset <= 0, offset
            async with (
                edge_factory(origin_b.node.settings.data_dir) as start_edge,
                chromium() as browser,
            ):
                edge = await start_edge([origin_a.http, origin_b.http])
                baseline = await origin_fetches(http, edge)
                context = await browser.new_context()
                source = f"{edge.http}/live/{name}/master.m3u8"
                viewer = await watch(context, origin_b.http, name, source)
                started = await viewer.wait_time(0.1, timeout=30)
                await viewer.wait_time(started + 2, timeout=30)
                before_kill = await origin_fetches(http, edge)
                a, b = origin_a.http, origin_b.http
                assert before_kill[a] > baseline[a], "A, the first origin, serves while it lives"
                assert before_kill[b] == baseline[b], "B is not asked while A lives"

                with capture_logs() as logs:
                    origin_a.kill()
                    await asyncio.wait_for(origin_a.proc.wait(), 10)
                    killed_at = await viewer.current_time()
                    await viewer.wait_time(killed_at + 6, timeout=30)
                after_kill = await origin_fetches(http, edge)

                assert await viewer.fatal_errors() == []
                assert viewer.page_errors == []
                # The edge hid A's death: no viewer request was answered with a 5xx (502 would
                # mean no origin answered).
                assert not [s for s in viewer.served if s.status >= 500]
                assert after_kill[b] > before_kill[b], "B serves after the kill"
                switch = [
                    event for event in logs
                    if event.get("origin") == a
                    and (event["event"] == "edge.origin_failed"
                         or (event["event"] == "edge.origin_health" and not event["healthy"]))
                ]
                assert switch, [event["event"] for event in logs]
        finally:
            with contextlib.suppress(ProcessLookupError):
                pusher.kill()
            await pusher.wait()


async def same_media_numbered_apart(http: aiohttp.ClientSession, url_a: str, url_b: str) -> int:
    """Both origins' first complete segments are the same media (durations, parts, bytes);
    returns how far B's numbering is from A's (media sequence numbers and init ids alike)."""
    deadline = time.monotonic() + 20
    while True:
        a, b = await wait_playlist(http, url_a), await wait_playlist(http, url_b)
        complete_a = [s for s in a.segments if s.uri]
        complete_b = [s for s in b.segments if s.uri]
        if complete_a and complete_b:
            break
        assert time.monotonic() < deadline, "no complete segment on both origins"
        await asyncio.sleep(0.25)
    # A young stream's window starts at its first segment on both origins.
    first_a, first_b = complete_a[0], complete_b[0]
    assert first_a.duration == first_b.duration
    assert [p.duration for p in first_a.parts] == [p.duration for p in first_b.parts]
    media_a = await fetch(http, url_a.rsplit("/", 1)[0] + "/" + first_a.uri)
    media_b = await fetch(http, url_b.rsplit("/", 1)[0] + "/" + first_b.uri)
    assert media_a.status == media_b.status == 200 and media_a.body == media_b.body
    offset = b.media_sequence - a.media_sequence
    init_a, init_b = (number(s.init_section.uri) for s in (first_a, first_b))
    assert init_b - init_a == offset, "init segments are numbered apart as segments are"
    return offset


def number(uri: str) -> int:
    """The number in a media name: ``init1795269065177.mp4`` → 1795269065177."""
    found = re.search(r"\d+", uri)
    assert found is not None, uri
    return int(found[0])


async def origin_fetches(http: aiohttp.ClientSession, edge: RunningEdge) -> dict[str, float]:
    """``tributary_edge_origin_fetches`` by origin, from the edge's own ``/metrics``."""
    got = await fetch(http, f"{edge.http}/metrics")
    assert got.status == 200
    counts: dict[str, float] = {url: 0.0 for url in edge.origins.urls}
    for family in text_string_to_metric_families(got.text):
        if family.name == "tributary_edge_origin_fetches":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels["origin"] in counts:
                    counts[sample.labels["origin"]] = sample.value
    return counts
