"""An edge in front of a real node: a crowd of viewers makes one origin fetch per object."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import m3u8
import pytest

from edge.upstream import Origins
from tests.support.edges import edge_factory
from tests.support.llhls import all_parts, wait_playlist


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
    """500 viewers reload blocking on the next part (half with ``_HLS_skip``) and 500 more ask
    for the preload-hinted part: three origin requests in all, everyone answered together."""
    _, name = live_node
    edge_url, origins = edge
    playlist_url = f"{edge_url}/live/{name}/source/index.m3u8"
    playlist = await wait_playlist(http, playlist_url)
    last = all_parts(playlist)[-1]
    msn = playlist.media_sequence + len(playlist.segments) - 1
    index = [p.uri for p in playlist.segments[-1].parts].index(last.uri)
    blocking = {"_HLS_msn": str(msn), "_HLS_part": str(index + 1)}
    hinted_url = f"{edge_url}/live/{name}/source/{playlist.preload_hint.uri}"

    async def get(client: aiohttp.ClientSession, url: str, params: dict[str, str]) -> bytes:
        async with client.get(url, params=params) as response:
            assert response.status == 200
            return await response.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as viewers:
        before = origins.fetches
        requests = [
            *(get(viewers, playlist_url, blocking) for _ in range(250)),
            *(get(viewers, playlist_url, {**blocking, "_HLS_skip": "YES"}) for _ in range(250)),
            *(get(viewers, hinted_url, {"viewer": str(i)}) for i in range(500)),
        ]
        answers = await asyncio.gather(*requests)
    assert origins.fetches - before == 3
    plain, skipping, parts = set(answers[:250]), set(answers[250:500]), set(answers[500:])
    assert len(plain) == len(skipping) == len(parts) == 1
    # Held until the hinted part existed (on a busy machine a later one may exist too).
    listed = [part.uri for part in all_parts(m3u8.loads(plain.pop().decode()))]
    assert playlist.preload_hint.uri in listed
