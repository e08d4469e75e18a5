"""The cluster of docker-compose.yml as processes on loopback (see conftest.py): a live stream
pushed to the origin plays through both edges, chat crosses both chat nodes, an upload is
transcoded by a worker; then one edge, one chat node and the worker running a transcode are
killed (SIGKILL, as a machine dies) and viewers, chatters and the job carry on.

The tests share one cluster and run in order: the last one kills nodes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import m3u8
import pytest
from tusclient.client import TusClient

from tests.cluster.conftest import Cluster
from tests.support.api_client import Account, Api
from tests.support.browser import chromium
from tests.support.chat_client import ChatClient
from tests.support.ffmpeg import Source, make_file, start_publish
from tests.support.llhls import all_parts, fetch, wait_playlist
from tests.support.role_process import RoleProcess

pytestmark = pytest.mark.timeout(600)

VIDEO_TIME = "document.querySelector('video').currentTime"


@pytest.fixture(scope="module")
async def api(cluster: Cluster) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield Api(session, f"{cluster.api.http}/api/v1", None)  # type: ignore[arg-type]


@dataclass
class LiveShow:
    name: str
    creator: Account
    playlist_url: str
    publisher: asyncio.subprocess.Process


@pytest.fixture(scope="module")
async def show(cluster: Cluster, api: Api) -> AsyncIterator[LiveShow]:
    """A stream made through the API node and pushed with ffmpeg to the RTMP URL it returns
    (the origin's), for as long as the module runs."""
    creator = await api.register(creator=True)
    name = f"c{creator.username[1:]}"
    created = await api.call("POST", "/live-streams", json={"name": name, "title": "Cluster"},
                             account=creator)
    assert created.status == 201, created.body
    assert created.body["rtmp_url"] == cluster.origin.rtmp
    assert created.body["whip_url"] == f"{cluster.origin.http}/whip/{name}"
    publisher = await start_publish(f"{created.body['rtmp_url']}/{created.body['stream_key']}",
                                    Source(seconds=600, width=426, height=240))
    try:
        yield LiveShow(name, creator, created.body["stream"]["playlist_url"], publisher)
    finally:
        publisher.kill()
        await publisher.wait()


async def until(check: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.2)
    return result


async def newest_part(http: aiohttp.ClientSession, base: str, stream: str) -> tuple[int, int]:
    """(media sequence, part index) of the newest part an edge serves for the first rendition,
    after fetching that part's bytes through the same edge."""
    master = await wait_playlist(http, f"{base}/live/{stream}/master.m3u8", timeout=30)
    media_url = f"{base}/live/{stream}/{master.playlists[0].uri}"
    media = await wait_playlist(http, media_url, timeout=30)
    parts = all_parts(media)
    assert parts, media.dumps()
    part = await fetch(http, media_url.rsplit("/", 1)[0] + "/" + parts[-1].uri)
    assert part.status == 200 and part.body, part.status
    return media.media_sequence + len(media.segments), len(parts)


async def test_live_plays_through_both_edges(cluster: Cluster, api: Api, show: LiveShow, http):
    edges = {edge.http for edge in cluster.edges}
    assert show.playlist_url.rsplit("/live/", 1)[0] in edges, "the API hands out an edge"
    for edge in cluster.edges:
        first = await newest_part(http, edge.http, show.name)
        later = await until(lambda: _advanced(http, edge.http, show.name, first), 10, "new parts")
        assert later > first
        got = await fetch(http, f"{edge.http}/live/{show.name}/master.m3u8")
        assert got.headers["X-Cache"] in ("HIT", "MISS"), got.headers  # answered by the edge

    async def listed() -> bool:
        live_now = await api.call("GET", "/live-now")
        return show.name in {item["name"] for item in live_now.body["items"]}

    # The API node ingests nothing: it learns what is live from the origin's lease in Redis.
    await until(listed, 5, "the stream in the API node's live-now")
    page = await fetch(http, f"{cluster.api.http}/watch/{show.name}")
    assert page.status == 200
    assert 'data-live="true"' in page.text
    assert any(f'data-src="{edge}/live/{show.name}/master.m3u8"' in page.text for edge in edges)
    assert any(f'content="{chat.http}"' in page.text for chat in cluster.chats)
    assert (await fetch(http, f"{cluster.api.http}/live/{show.name}/master.m3u8")).status == 404


async def _advanced(http: aiohttp.ClientSession, base: str, stream: str,
                    first: tuple[int, int]) -> tuple[int, int] | None:
    now = await newest_part(http, base, stream)
    return now if now > first else None


async def chatter(cluster_node: RoleProcess, account: Account | None, room: str) -> ChatClient:
    client = await ChatClient().connect(cluster_node.http, account.access if account else None)
    await client.join(room)
    return client


async def test_chat_crosses_both_chat_nodes(cluster: Cluster, api: Api, show: LiveShow):
    room = f"live:{show.name}"
    viewer = await api.register()
    on_one = await chatter(cluster.chats[0], show.creator, room)
    on_two = await chatter(cluster.chats[1], viewer, room)
    try:
        sent = (await on_one.send(room, "hello from node one"))["message"]
        assert (await on_two.wait_for("message", lambda m: m["id"] == sent["id"]))["text"] == sent["text"]
        sent = (await on_two.send(room, "and back from node two"))["message"]
        await on_one.wait_for("message", lambda m: m["id"] == sent["id"])
        await on_one.wait_for("viewers", lambda v: v["count"] == 2)
    finally:
        await on_one.close()
        await on_two.close()


async def test_the_api_nodes_watch_page_plays_from_an_edge_and_chats_on_a_chat_node(
    cluster: Cluster, api: Api, show: LiveShow
):
    """The page comes from the API node, its video from an edge and its chat from a chat node
    (``[public]`` settings), each a different origin for the browser (CORS on all of them)."""
    edges = {edge.http for edge in cluster.edges}
    chats = {chat.http for chat in cluster.chats}
    async with chromium() as browser:
        page = await browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
        fetched: set[str] = set()
        media = f"/live/{show.name}/"
        page.on("response", lambda r: fetched.add(r.url.split(media)[0]) if media in r.url else None)
        await page.goto(f"{cluster.api.http}/watch/{show.name}")
        await page.wait_for_function(
            f"() => {VIDEO_TIME} > 1", timeout=30_000, polling=200)
        assert fetched and fetched <= edges, fetched
        chat_url = await page.get_attribute('meta[name="tributary-chat"]', "content")
        assert chat_url in chats
        await page.wait_for_function(
            "() => document.getElementById('chat-state').textContent === ''", timeout=15_000)
        other = next(chat for chat in cluster.chats if chat.http != chat_url)
        talker = await chatter(other, show.creator, f"live:{show.name}")
        try:
            await talker.send(f"live:{show.name}", "seen in the browser via the other chat node")
            await page.get_by_text("seen in the browser via the other chat node").wait_for(timeout=10_000)
        finally:
            await talker.close()
        assert not problems, problems


def tus_upload(api_http: str, account: Account, path: Path) -> str:
    """A real tus client (tuspy; blocking, so run in a thread) through the API node; the URL."""
    client = TusClient(f"{api_http}/api/v1/uploads", headers=account.auth)
    uploader = client.uploader(file_path=str(path), chunk_size=1024 * 1024,
                               metadata={"title": path.stem, "filename": path.name})
    uploader.upload()
    return uploader.url


async def upload(cluster: Cluster, api: Api, account: Account, path: Path) -> str:
    url = await asyncio.to_thread(tus_upload, cluster.api.http, account, path)
    async with api.session.head(url, headers={**account.auth, "Tus-Resumable": "1.0.0"}) as resp:
        return resp.headers["Tributary-Video-Id"]


async def video_status(api: Api, account: Account, video_id: str) -> dict[str, Any]:
    got = await api.call("GET", f"/videos/{video_id}/status", account=account)
    assert got.status == 200, got.body
    return got.body


async def wait_ready(api: Api, account: Account, video_id: str, timeout: float) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        status = await video_status(api, account, video_id)
        assert status["status"] != "failed", status
        return status if status["status"] == "ready" else None

    return await until(done, timeout, f"video {video_id} to be ready")


async def plays_through(api: Api, account: Account, video_id: str, playback_url: str) -> None:
    """The master playlist, a media playlist and its first segment, through an edge, with a
    playback token (uploads start private): the edges check it with the cluster's secret."""
    grant = await api.call("POST", f"/videos/{video_id}/playback-token", account=account)
    master_url = f"{playback_url}?token={grant.body['token']}"
    master = m3u8.loads((await fetch(api.session, master_url)).text)
    media_url = urljoin(master_url, master.playlists[0].uri)
    media = m3u8.loads((await fetch(api.session, media_url)).text)
    segment = await fetch(api.session, urljoin(media_url, media.segments[0].uri))
    assert segment.status == 200 and len(segment.body) > 1000
    assert (await fetch(api.session, playback_url)).status == 403, "no token, no video"


async def test_an_upload_is_transcoded_by_a_worker_and_plays_through_an_edge(
    cluster: Cluster, api: Api, tmp_path
):
    creator = await api.register(creator=True)
    source = tmp_path / "short.mp4"
    await make_file(source, Source(seconds=4, width=426, height=240, realtime=False))
    video_id = await upload(cluster, api, creator, source)
    await wait_ready(api, creator, video_id, 90)
    video = (await api.call("GET", f"/videos/{video_id}", account=creator)).body
    assert video["playback_url"].rsplit("/vod/", 1)[0] in {edge.http for edge in cluster.edges}
    await plays_through(api, creator, video_id, video["playback_url"])


def running(worker: RoleProcess, video_id: str) -> bool:
    return any(e.get("event") == "job.started" and e.get("job") == f"transcode-{video_id}"
               for e in worker.log_events())


async def test_killing_an_edge_a_chat_node_and_a_busy_worker_loses_nobody(
    cluster: Cluster, api: Api, show: LiveShow, http, tmp_path
):
    """SIGKILL, as when a machine dies: the edge a browser plays from, a chat node with a
    client on it and the worker in the middle of a transcode."""
    room = f"live:{show.name}"
    creator, viewer = await api.register(creator=True), await api.register()
    source = tmp_path / "long.mp4"  # a transcode long enough to be killed in the middle
    await make_file(source, Source(seconds=40, width=426, height=240, realtime=False))
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{cluster.api.http}/watch/{show.name}")
        await page.wait_for_function(f"() => {VIDEO_TIME} > 1", timeout=30_000, polling=200)
        playing_from = await page.get_attribute("#player", "data-src") or ""
        doomed_edge = next(edge for edge in cluster.edges if playing_from.startswith(edge.http + "/"))
        surviving_edge = next(edge for edge in cluster.edges if edge is not doomed_edge)
        doomed_chat, surviving_chat = cluster.chats

        video_id = await upload(cluster, api, creator, source)
        busy = await until(
            lambda: _busy_worker(cluster, video_id, api, creator), 60, "the transcode to make progress")
        idle = next(worker for worker in cluster.workers if worker is not busy)
        talker = await chatter(doomed_chat, show.creator, room)
        listener = await chatter(surviving_chat, viewer, room)
        before_kill = await newest_part(http, surviving_edge.http, show.name)
        try:
            for node in (busy, doomed_edge, doomed_chat):
                node.kill()
            await asyncio.gather(*(node.proc.wait() for node in (busy, doomed_edge, doomed_chat)))
            at_kill = float(await page.evaluate(VIDEO_TIME))

            # Viewers: the dead edge refuses connections; the other serves new parts, and the
            # browser that played from the dead one goes on playing from it.
            with pytest.raises(aiohttp.ClientConnectionError):
                await fetch(http, f"{doomed_edge.http}/live/{show.name}/master.m3u8")
            await until(lambda: _advanced(http, surviving_edge.http, show.name, before_kill), 10,
                        "new parts through the surviving edge")
            await page.wait_for_function(f"() => {VIDEO_TIME} > {at_kill + 4}", timeout=30_000,
                                         polling=200)
            assert await page.get_attribute("#player", "data-src") == (
                f"{surviving_edge.http}/live/{show.name}/master.m3u8")

            # Chatters: the client of the dead node notices, reconnects to the other, talks on.
            await talker.wait_for_disconnect(timeout=60)
            await talker.close()
            talker = await chatter(surviving_chat, show.creator, room)
            sent = (await talker.send(room, "still here after the crash"))["message"]
            await listener.wait_for("message", lambda m: m["id"] == sent["id"])

            # The job: the other worker takes it over once the dead one's heartbeat is missed.
            status = await wait_ready(api, creator, video_id, 180)
            assert status["progress_percent"] == 100
            tries = [(e["job"], e["attempt"]) for e in idle.log_events() if e.get("event") == "job.started"]
            assert (f"transcode-{video_id}", 2) in tries, tries
            video = (await api.call("GET", f"/videos/{video_id}", account=creator)).body
            playback = video["playback_url"].replace(doomed_edge.http, surviving_edge.http)
            await plays_through(api, creator, video_id, playback)
        finally:
            await talker.close()
            await listener.close()

    for node in (cluster.origin, surviving_edge, surviving_chat, idle, cluster.api):
        assert (await fetch(http, f"{node.http}/readyz")).status == 200, node.role


async def _busy_worker(cluster: Cluster, video_id: str, api: Api, creator: Account) -> RoleProcess | None:
    """The worker running ``video_id``'s transcode once it has made progress, else None."""
    status = await video_status(api, creator, video_id)
    assert status["status"] != "ready", "the transcode finished before it could be interrupted"
    if status["progress_percent"] <= 0:
        return None
    return next((worker for worker in cluster.workers if running(worker, video_id)), None)
