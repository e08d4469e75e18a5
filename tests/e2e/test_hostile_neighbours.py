"""Hostile clients next to a real publish on a real node: they are dropped, the stream flows."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import m3u8

from ingest.rtmp.messages import MessageType
from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import fetch, wait_playlist
from tests.support.nodes import node_factory
from tests.support.rtmp_client import RawClient


async def newest_part(http: aiohttp.ClientSession, url: str) -> str:
    playlist = m3u8.loads((await fetch(http, url)).text)
    return playlist.segments[-1].parts[-1].uri


async def test_hostile_clients_do_not_disturb_a_live_stream(services, tmp_path):
    async with node_factory(services, tmp_path) as start, aiohttp.ClientSession() as http:
        node = await start()
        rtmp_port = node.node.endpoints.rtmp_port
        name, key = await node.new_stream()
        pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=15))
        try:
            url = node.playlist_url(name)
            await wait_playlist(http, url)
            before = await newest_part(http, url)
            sessions_before = node.node.rtmp.session_count

            # RTMP: garbage, a huge chunk size, a message over the cap, a stalled handshake.
            _, garbage = await asyncio.open_connection("127.0.0.1", rtmp_port)
            garbage.write(os.urandom(4096))
            huge = await RawClient.connect(rtmp_port)
            huge.send(2, MessageType.SET_CHUNK_SIZE, (0x7FFFFFFF).to_bytes(4, "big"))
            oversized = await RawClient.connect(rtmp_port)
            oversized.writer.write(b"\x03\x00\x00\x00\xff\xff\xff\x14\x00\x00\x00\x00")
            _, stalled = await asyncio.open_connection("127.0.0.1", rtmp_port)
            stalled.write(b"\x03" + os.urandom(100))
            # HTTP: hostile query strings and paths.
            for query in ("_HLS_msn=-1", "_HLS_msn=1e99", "_HLS_part=3", "_HLS_msn=x&_HLS_part=y",
                          "_HLS_msn=99999999999999999999"):
                got = await fetch(http, f"{url}?{query}")
                assert got.status == 400, (query, got.status)
            for path in ("/live/../../etc/passwd", "/live/%2e%2e/x/index.m3u8",
                         f"/live/{name}/source/part-1.m4s", f"/live/{name}/source/seg01.m4s"):
                got = await fetch(http, node.http + path)
                assert got.status in (400, 404), (path, got.status)

            # The handshake timeout (2 s in tests) clears the stalled one; the rest close at once.
            deadline = asyncio.get_running_loop().time() + 6
            while node.node.rtmp.session_count > sessions_before:
                assert asyncio.get_running_loop().time() < deadline, node.node.rtmp.session_count
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            assert await newest_part(http, url) != before, "the real stream kept producing parts"
            assert pusher.returncode is None
            for writer in (garbage, stalled, huge.writer, oversized.writer):
                writer.close()
        finally:
            pusher.kill()
            await pusher.wait()
