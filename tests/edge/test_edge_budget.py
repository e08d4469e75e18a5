"""The edge's memory budget holds under a live stream's media: once it is full the least
recently used objects go, and a request for one of them goes back to the origin."""

from __future__ import annotations

import asyncio
import time

from tests.support.edges import edge_factory
from tests.support.llhls import all_parts, wait_playlist
from tests.support.recorded_videos import get

BUDGET = 1 << 20


async def test_the_budget_holds_and_the_least_recently_used_go_first(live_node, http):
    node, name = live_node
    async with edge_factory(node.node.settings.data_dir) as start:
        edge = await start([node.http], cache_bytes=BUDGET)
        base = f"{edge.http}/live/{name}/source"
        fetched: list[str] = []
        total = 0
        deadline = time.monotonic() + 25
        while total < 2 * BUDGET:  # twice the budget through the edge, oldest first
            assert time.monotonic() < deadline, f"only {total} bytes of media in 25 s"
            playlist = await wait_playlist(http, node.playlist_url(name))
            uris = [s.uri for s in playlist.segments if s.uri] + [p.uri for p in all_parts(playlist)]
            for uri in (u for u in uris if u not in fetched):
                status, body, headers = await get(http, f"{base}/{uri}")
                assert status == 200 and headers["X-Cache"] == "MISS"
                fetched.append(uri)
                total += len(body)
            await asyncio.sleep(0.5)
        cache = edge.node.proxy.cache
        assert 0 < cache.size_bytes <= BUDGET
        _, _, newest = await get(http, f"{base}/{fetched[-1]}")
        assert newest["X-Cache"] == "HIT"
        status, _, oldest = await get(http, f"{base}/{fetched[0]}")
        assert status == 200 and oldest["X-Cache"] == "MISS"  # evicted, fetched again
