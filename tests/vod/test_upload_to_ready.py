"""The whole VOD path on one all-in-one node: a tus upload (tuspy) → the finished upload is a
transcode job on the Redis queue → the node's own worker transcodes it → the video is ready and
its playlists play from the origin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import m3u8
import pytest

from tests.support.api_client import Api
from tests.support.nodes import RunningNode, node_factory
from tests.support.uploads import tuspy, video_file, wait_for


@pytest.fixture
async def node(services, tmp_path) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path) as start:
        yield await start()


async def test_an_upload_becomes_a_ready_video(node, tmp_path):
    async with aiohttp.ClientSession() as session:
        api = Api(session, node.api, node)
        creator = await api.register(creator=True)
        source = await video_file(tmp_path / "clip.mp4", seconds=3)
        uploader = await asyncio.to_thread(tuspy, node, creator, source, title="Start to finish")
        await asyncio.to_thread(uploader.upload)
        head = await session.head(uploader.url, headers={**creator.auth, "Tus-Resumable": "1.0.0"})
        video_id = head.headers["Tributary-Video-Id"]

        async def ready() -> dict | None:
            got = await api.call("GET", f"/videos/{video_id}", account=creator)
            assert got.body["status"] != "failed", got.body
            return got.body if got.body["status"] == "ready" else None

        video = await wait_for(ready, timeout=90, what=f"video {video_id} to be ready")
        assert video["duration_seconds"] == pytest.approx(3, abs=0.2)
        token = (await api.call("POST", f"/videos/{video_id}/playback-token", account=creator)).body["token"]
        async with session.get(video["playback_url"], params={"token": token}) as response:
            assert response.status == 200
            master = m3u8.loads(await response.text())
        assert master.playlists, "a video variant at least"
