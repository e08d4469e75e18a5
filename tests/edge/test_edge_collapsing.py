"""An edge in front of a real node: a crowd of viewers makes one origin fetch per object."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import m3u8
import pytest

from edge.upstream import Origins
from tests.support.edges import edge_factory
from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import all_parts, wait_playlist
from tests.support.nodes import node_factory


@pytest.fixture
async def live_node(services, tmp_path):
    async with node_factory(services, tmp_path) as start:
        node = await start()
        name, key = await node.new_stream()
        pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=30))
        try:
            yield node, name
        finally:
            pusher.kill()
            await pusher.wait()


@pytest.fixture
async def edge(live_node) -> AsyncIterator[tuple[str, Origins]]:
    node, _ = live_node
    async with edge_factory(node.node.settings.data_dir) as start:
        running = await start([node.http], upstream_timeout=15)
        yield running.http, running.origins


async def test_a_thousand_viewers_of_one_segment_make_one_origin_fetch(live_node, edge, http):
    node, name = live_node
    edge_url, origins = edge
    playlist = await wait_playlist(http, node.playlist_url(name))
    while not [s for s in playlist.segments if s.uri]:
        await asyncio.sleep(0.5)
        playlist = await wait_playlist(http, node.playlist_url(name))
    segment = next(s for s in playlist.segments if s.uri)
    url = f"{edge_url}/live/{name}/source/{segment.uri}"

    async def get(client: aiohttp.ClientSession, index: int) -> tuple[int, bytes, str]:
        async with client.get(url, params={"viewer": str(index)}) as response:
            return response.status, await response.read(), response.headers["X-Cache"]

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as viewers:
        before = origins.fetches
        results = await asyncio.gather(*(get(viewers, i) for i in range(1000)))
    assert {status for status, _, _ in results} == {200}
    assert len({body for _, body, _ in results}) == 1
    assert origins.fetches - before == 1


async def test_viewers_blocking_on_the_next_part_share_one_held_origin_request(live_node, edge, http):
    _, name = live_node
    edge_url, origins = edge
    playlist_url = f"{edge_url}/live/{name}/source/index.m3u8"
    playlist = await wait_playlist(http, playlist_url)
    last = all_parts(playlist)[-1]
    msn = playlist.media_sequence + len(playlist.segments) - 1
    index = [p.uri for p in playlist.segments[-1].parts].index(last.uri)
    params = {"_HLS_msn": str(msn), "_HLS_part": str(index + 1)}

    async def block(client: aiohttp.ClientSession) -> str:
        async with client.get(playlist_url, params=params) as response:
            assert response.status == 200
            return await response.text()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as viewers:
        before = origins.fetches
        answers = await asyncio.gather(*(block(viewers) for _ in range(300)))
    assert len(set(answers)) == 1
    assert origins.fetches - before == 1
    newest = all_parts(m3u8.loads(answers[0]))[-1]
    assert newest.uri != last.uri
