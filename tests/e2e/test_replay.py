"""A live stream becomes a video: real ffmpeg pushes RTMP (dropping and coming back within the
grace period), the node records to storage, and when the stream ends the catalog lists a ready
video whose HLS VOD decodes completely and plays to its end in hls.js in Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import av
import m3u8
import pytest

from catalog.channels import Channels
from catalog.recordings import Recordings
from tests.support.api_client import Account, Api
from tests.support.ffmpeg import Source, publish, start_publish
from tests.support.llhls import PLAYLIST_TYPE, fetch, wait_playlist
from tests.support.nodes import RunningNode, node_factory
from tests.support.vod_playback import plays_to_the_end

GRACE = 2.0
FIRST, SECOND = Source(seconds=4), Source(seconds=3)
PUSHED = FIRST.seconds + SECOND.seconds


@pytest.fixture
async def node(services, tmp_path) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path) as start:
        yield await start(reconnect_grace=GRACE)


@pytest.fixture
async def api(node):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield Api(session, node.api, node)


async def new_stream(api: Api, owner: Account, title: str = "") -> tuple[str, str]:
    name = f"r{uuid.uuid4().hex[:12]}"
    got = await api.call("POST", "/live-streams", json={"name": name, "title": title}, account=owner)
    assert got.status == 201, got.body
    return name, got.body["stream_key"]


async def push(node: RunningNode, key: str, *sources: Source) -> None:
    for source in sources:
        code, err = await publish(f"{node.rtmp}/{key}", source)
        assert code == 0, err


async def channel_videos(
    api: Api, handle: str, owner: Account | None = None, *, timeout: float = 0
) -> list[Any]:
    """The channel's videos; with ``timeout``, waits until there is at least one."""
    deadline = time.monotonic() + timeout
    while True:
        got = await api.call("GET", f"/channels/{handle}/videos", account=owner)
        assert got.status == 200, got.body
        if got.body["items"] or time.monotonic() >= deadline:
            return got.body["items"]
        await asyncio.sleep(0.25)


def decode(tmp_path, name: str, blob: bytes) -> tuple[list[float], int]:
    """Video frame times and the number of audio frames of one init + segments run."""
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(blob)
    with av.open(str(path)) as container:
        video = [float(frame.time) for frame in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = sum(1 for _ in container.decode(audio=0))
    return video, audio


async def test_stream_becomes_a_video_that_plays_to_the_end(node, api, tmp_path):
    owner = await api.register(creator=True)
    name, key = await new_stream(api, owner, title="Friday night replay")
    await push(node, key, FIRST, SECOND)  # two sessions: a reconnect within the grace period

    [card] = await channel_videos(api, owner.channel, timeout=GRACE + 15)
    got = await api.call("GET", f"/videos/{card['id']}")
    video = got.body
    assert video["title"] == "Friday night replay"
    assert (video["status"], video["privacy"]) == ("ready", "public")
    assert video["duration_seconds"] == pytest.approx(PUSHED, abs=0.5)
    assert video["playback_url"] == f"{node.http}/vod/{card['id']}/master.m3u8"

    master_got = await fetch(api.session, video["playback_url"])
    assert master_got.status == 200 and master_got.headers["Content-Type"] == PLAYLIST_TYPE
    assert master_got.headers["Access-Control-Allow-Origin"] == "*"
    master = m3u8.loads(master_got.text)
    [variant] = master.playlists
    info = variant.stream_info
    assert info.resolution == (FIRST.width, FIRST.height)
    assert "avc1." in info.codecs and "mp4a.40.2" in info.codecs
    assert info.bandwidth >= info.average_bandwidth > 0

    rendition_url = f"{node.http}/vod/{card['id']}/{variant.uri}"
    base = rendition_url.rsplit("/", 1)[0]
    playlist = m3u8.loads((await fetch(api.session, rendition_url)).text)
    assert playlist.is_endlist and playlist.playlist_type == "vod" and playlist.is_independent_segments
    assert playlist.target_duration >= max(round(s.duration) for s in playlist.segments)
    assert sum(s.duration for s in playlist.segments) == pytest.approx(video["duration_seconds"])
    breaks = [i for i, s in enumerate(playlist.segments) if s.discontinuity]
    assert len(breaks) == 1, "the reconnect is one discontinuity"
    assert playlist.segments[breaks[0]].init_section.uri != playlist.segments[0].init_section.uri

    # Every segment decodes after its init segment; together they are the whole push.
    frames, audio_frames = 0, 0
    for run, (start, end) in enumerate(zip([0, *breaks], [*breaks, len(playlist.segments)])):
        blob = (await fetch(api.session, f"{base}/{playlist.segments[start].init_section.uri}")).body
        for segment in playlist.segments[start:end]:
            got = await fetch(api.session, f"{base}/{segment.uri}")
            assert got.status == 200 and "immutable" in got.headers["Cache-Control"]
            blob += got.body
        times, audio = decode(tmp_path, f"run{run}", blob)
        assert times == sorted(times)
        frames, audio_frames = frames + len(times), audio_frames + audio
    assert frames == pytest.approx(PUSHED * FIRST.fps, abs=FIRST.fps / 2)
    assert audio_frames * 1024 / FIRST.sample_rate == pytest.approx(PUSHED, abs=0.5)

    # The poster is a JPEG of the stream's picture.
    thumbnails = (await api.call("GET", f"/videos/{card['id']}/thumbnails", account=owner)).body
    [poster] = thumbnails
    assert (poster["kind"], poster["chosen"]) == ("poster", True)
    image = await fetch(api.session, poster["url"])
    assert image.status == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.body[:2] == b"\xff\xd8"
    (tmp_path / "poster.jpg").write_bytes(image.body)
    with av.open(str(tmp_path / "poster.jpg")) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (poster["width"], poster["height"]) == (FIRST.width, FIRST.height)

    await plays_to_the_end(node, video["playback_url"], video["duration_seconds"])


async def test_recording_turned_off_makes_no_video(node, api):
    owner = await api.register(creator=True)
    name, key = await new_stream(api, owner)
    got = await api.call("PATCH", f"/live-streams/{name}", json={"record": False}, account=owner)
    assert got.status == 200 and got.body["record"] is False
    await push(node, key, Source(seconds=2))
    deadline = time.monotonic() + GRACE + 10
    while not m3u8.loads((await fetch(api.session, node.playlist_url(name))).text).is_endlist:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.25)
    # The recording would have been written while the stream was live, and published at its end.
    assert not (node.node.settings.data_dir / "storage" / "recordings" / name).exists()
    assert await channel_videos(api, owner.channel, owner) == []


async def test_a_command_line_stream_is_recorded_to_the_operator_channel(node, api):
    name, key = await node.new_stream()  # no channel: `tributary stream create`
    await push(node, key, Source(seconds=3))
    pool = node.node.pool
    channel = await Channels(pool).by_id(await Recordings(pool).operator_channel())
    deadline = time.monotonic() + GRACE + 15
    while not (mine := [v for v in await channel_videos(api, channel.handle)
                        if v["title"].startswith(f"{name} — ")]):
        assert time.monotonic() < deadline, "no video for the stream"
        await asyncio.sleep(0.25)
    assert mine[0]["duration_seconds"] == pytest.approx(3, abs=0.5)


async def test_every_rendition_of_a_ladder_is_kept_segment_for_segment(services, tmp_path):
    async with node_factory(services, tmp_path) as start, aiohttp.ClientSession() as http:
        node = await start(reconnect_grace=1.0, ladder={"heights": [180]})
        api = Api(http, node.api, node)
        owner = await api.register(creator=True)
        _, key = await new_stream(api, owner)
        await push(node, key, Source(seconds=5, gop=30))
        [card] = await channel_videos(api, owner.channel, timeout=15)
        url = f"{node.http}/vod/{card['id']}/master.m3u8"
        master = m3u8.loads((await fetch(http, url)).text)
        assert [(p.uri, p.stream_info.resolution) for p in master.playlists] == [
            ("source/index.m3u8", (640, 360)), ("180p/index.m3u8", (320, 180))]
        playlists = [m3u8.loads((await fetch(http, f"{node.http}/vod/{card['id']}/{p.uri}")).text)
                     for p in master.playlists]
        source, rung = ([s.uri for s in p.segments] for p in playlists)
        assert source == rung and len(source) >= 3  # the same media segments, in step
        for a, b in zip(*(p.segments for p in playlists)):
            assert a.duration == pytest.approx(b.duration, abs=0.05)
        # A rung may start a GOP (1 s) after the source: the VOD starts where both have media.
        assert 5 - 1.1 < card["duration_seconds"] < 5 + 0.1


async def test_a_stream_cut_by_node_shutdown_is_still_kept(services, tmp_path):
    async with node_factory(services, tmp_path) as start, aiohttp.ClientSession() as http:
        node = await start(reconnect_grace=30.0)
        name, key = await node.new_stream()
        pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=30))
        try:
            deadline = time.monotonic() + 20
            while sum(1 for s in (await wait_playlist(http, node.playlist_url(name))).segments if s.uri) < 2:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            await node.node.stop()  # SIGTERM: the stream ends now, not after its grace period
        finally:
            with contextlib.suppress(ProcessLookupError):  # ffmpeg may have quit with the node
                pusher.kill()
            await pusher.wait()
    conn = await asyncpg.connect(services.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT status, duration_seconds FROM videos WHERE source_metadata->>'live_stream' = $1", name)
    finally:
        await conn.close()
    assert row["status"] == "ready" and row["duration_seconds"] >= 2
