"""How WHIP sessions end when nobody says DELETE, and what is left afterwards: nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import m3u8

from tests.ingest.whip.client import WhipClient, sample_offer
from tests.ingest.whip.conftest import (
    WhipNodes,
    encode_threads,
    wait_until,
    webrtc_tasks,
)
from tests.ingest.whip.synthetic import BeepMicrophone, FlashCamera
from tests.support.llhls import fetch, wait_playlist

REPO = Path(__file__).resolve().parents[3]
TIMEOUT = 2.0


async def publish_again(http: aiohttp.ClientSession, endpoint: str, key: str) -> WhipClient:
    client = WhipClient(http, endpoint, key, [FlashCamera(), BeepMicrophone()])
    answer = await client.publish()
    assert answer.status == 201, answer.body
    return client


async def test_a_publisher_that_vanishes_is_dropped_and_can_come_back(start_node: WhipNodes, http):
    baseline = asyncio.all_tasks()
    node = await start_node(no_media_timeout=TIMEOUT)
    name, key = await node.new_stream()
    endpoint = f"{node.http}/whip"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.ingest.whip.publish_process", endpoint, key,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 20)).strip() == b"201"
        await wait_playlist(http, node.playlist_url(name))
        assert node.node.whip.session_count == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    killed = time.monotonic()
    await wait_until(lambda: node.node.whip.session_count == 0, TIMEOUT + 3, "the vanished session to end")
    assert time.monotonic() - killed < TIMEOUT + 2
    await wait_until(lambda: not webrtc_tasks(baseline) and not encode_threads(), 5, "its tasks and thread to end")

    client = await publish_again(http, endpoint, key)
    await asyncio.sleep(1.0)
    playlist = m3u8.loads((await fetch(http, node.playlist_url(name))).text)
    assert not playlist.is_endlist
    assert await client.delete() == 200


async def test_an_offer_whose_answer_is_never_used_times_out(start_node: WhipNodes, http):
    """A client that POSTs and then never connects (ICE never starts) holds nothing for long."""
    baseline = asyncio.all_tasks()
    node = await start_node(no_media_timeout=TIMEOUT)
    _, key = await node.new_stream()
    headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"}
    async with http.post(f"{node.http}/whip", data=await sample_offer(), headers=headers) as resp:
        assert resp.status == 201
    await wait_until(lambda: node.node.whip.session_count == 0, TIMEOUT + 3, "the session to time out")
    await wait_until(lambda: not webrtc_tasks(baseline) and not encode_threads(), 5, "its tasks and thread to end")
    client = await publish_again(http, f"{node.http}/whip", key)
    assert await client.delete() == 200


async def test_a_delete_right_after_the_post_leaves_nothing_behind(start_node: WhipNodes, http):
    """The server closes while ICE is still completing (an aioice race would leak a task)."""
    baseline = asyncio.all_tasks()
    node = await start_node()
    _, key = await node.new_stream()
    for _ in range(3):
        client = await publish_again(http, f"{node.http}/whip", key)
        assert await client.delete() == 200
    await wait_until(lambda: not webrtc_tasks(baseline) and not encode_threads(), 5, "nothing left behind")


async def test_node_shutdown_ends_every_session(start_node: WhipNodes, http):
    baseline = asyncio.all_tasks()
    node = await start_node()
    clients = []
    for _ in range(2):
        name, key = await node.new_stream()
        clients.append(await publish_again(http, f"{node.http}/whip", key))
        await wait_playlist(http, node.playlist_url(name))
    assert node.node.whip.session_count == 2
    await node.node.stop()
    assert node.node.whip is None
    assert not encode_threads()
    for client in clients:
        await client.close()
    await wait_until(lambda: not webrtc_tasks(baseline), 5, "aiortc tasks to end")


async def test_hostile_requests_leave_a_live_publish_alone(start_node: WhipNodes, http):
    baseline = asyncio.all_tasks()
    node = await start_node()
    name, key = await node.new_stream()
    healthy = await publish_again(http, f"{node.http}/whip", key)
    url = node.playlist_url(name)
    await wait_playlist(http, url)
    before = m3u8.loads((await fetch(http, url)).text).segments[-1].parts[-1].uri

    offer = await sample_offer()
    whip = f"{node.http}/whip"
    sdp = {"Content-Type": "application/sdp"}
    auth = {"Authorization": f"Bearer {key}"}
    cases = [
        (whip, b"\x00" * 1000, {**sdp, **auth}, 400),
        (whip, os.urandom(4096), {**sdp, **auth}, 400),
        (whip, offer[: len(offer) // 3].encode(), {**sdp, **auth}, 400),
        (whip, offer[: offer.index("a=fingerprint")].encode(), {**sdp, **auth}, 400),
        (whip, ("v=0\r\n" + "a=x:" + "y" * 100_000).encode(), {**sdp, **auth}, 413),
        (whip, offer.replace("m=video", "m=text").encode(), {**sdp, **auth}, 406),
        (whip, offer.encode(), sdp, 401),
        (whip, offer.encode(), {**sdp, "Authorization": "Bearer trb_wrong"}, 401),
        (whip, offer.encode(), {**sdp, **auth}, 409),
        (whip, offer.encode(), {"Content-Type": "application/json", **auth}, 415),
    ]
    threads_before = len(encode_threads())
    for target, body, headers, status in cases:
        async with http.post(target, data=body, headers=headers) as resp:
            assert resp.status == status, (body[:40], status, resp.status, await resp.text())
            assert (await resp.text()).strip(), "every error says why"
    async with http.delete(f"{whip}/sessions/{'A' * 22}", headers=auth) as resp:
        assert resp.status == 404
    async with http.post(whip, data=b"v=0\r\n" * 10, headers={**sdp, **auth, "Transfer-Encoding": "chunked"}) as resp:
        assert resp.status == 400

    assert node.node.whip.session_count == 1
    assert len(encode_threads()) == threads_before
    await asyncio.sleep(0.6)
    assert m3u8.loads((await fetch(http, url)).text).segments[-1].parts[-1].uri != before, "the stream flows"
    assert await healthy.delete() == 200
    await wait_until(lambda: not webrtc_tasks(baseline) and not encode_threads(), 5, "nothing left behind")
