"""Edge tests run against real origins: the VOD tests share tests/vod's node, recorder and API
client (imported here so pytest finds them), and every edge is a real EdgeNode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.edges import EdgeFactory, edge_factory
from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import wait_playlist
from tests.support.nodes import RunningNode, node_factory
from tests.vod.conftest import api, node_storage, recorder, recordings, vod_node

__all__ = ["api", "node_storage", "recorder", "recordings", "vod_node"]


@pytest.fixture
async def live_node(services, tmp_path, http):
    """A node with one stream live (30 s, being pushed by ffmpeg): ``(node, stream name)``."""
    async with node_factory(services, tmp_path) as start:
        node = await start()
        name, key = await node.new_stream()
        pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=30))
        try:
            await wait_playlist(http, node.playlist_url(name))
            yield node, name
        finally:
            pusher.kill()
            await pusher.wait()


@pytest.fixture
async def start_edge(vod_node: RunningNode) -> AsyncIterator[EdgeFactory]:
    """Edges sharing the VOD node's secret key (so its playback tokens verify at the edge)."""
    async with edge_factory(vod_node.node.settings.data_dir) as start:
        yield start
