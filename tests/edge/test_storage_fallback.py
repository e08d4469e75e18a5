"""VOD from storage at an edge whose origins are all dead (a closed port): a live stream recorded
by a real node plays from its storage (local disk, and S3 on a moto server), answering exactly
as an edge in front of a live origin answers; restricted videos need a viewer's token; what
storage lacks is 404 or 502."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urljoin

import m3u8
import pytest
from structlog.testing import capture_logs

from catalog import playback_tokens
from edge.storage_fallback import StorageFallback
from edge.upstream import ObjectTooLarge
from tests.support.api_client import Account, Api, api_for
from tests.support.ffmpeg import Source, publish
from tests.support.recorded_videos import get, recorded_video
from tests.support.s3 import moto_endpoint, s3_bucket, s3_settings
from tests.vod.media import fmp4_segments
from tributary.settings import StorageSettings
from vod.playback_manifest import PlaybackManifests, manifest_key
from vod.recording import Recorder
from vod.storage import S3Storage

__all__ = ["moto_endpoint", "s3_bucket"]  # fixtures

PUSHED = Source(seconds=3, width=320, height=180, gop=30)
UNCOMPARED = {"Date", "X-Cache", "Server"}
"""Headers that differ between any two answers; everything else must match."""


def dead_origin() -> str:
    """An origin URL nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(scope="module")
def media() -> tuple[bytes, list[bytes]]:
    return fmp4_segments(seconds=3, size=(320, 180))


@pytest.fixture(scope="module")
async def streamed(vod_node) -> AsyncIterator[tuple[str, Account]]:
    """A creator's live stream, pushed over RTMP by ffmpeg and recorded by the node into a ready
    video once the reconnect grace is over; its public id and owner."""
    async with api_for(vod_node) as api:
        owner = await api.register(creator=True)
        got = await api.call("POST", "/live-streams", json={"name": f"e{uuid.uuid4().hex[:12]}"},
                             account=owner)
        code, err = await publish(f"{vod_node.rtmp}/{got.body['stream_key']}", PUSHED)
        assert code == 0, err
        deadline = time.monotonic() + 30
        while not (items := (await api.call("GET", f"/channels/{owner.channel}/videos",
                                            account=owner)).body["items"]):
            assert time.monotonic() < deadline, "the recording never became a video"
            await asyncio.sleep(0.25)
        yield items[0]["id"], owner


async def every_path(
        api: Api, origin: str, public_id: str, owner: Account, query: str = "") -> list[str]:
    """Every URL path (and query) of the video, as its playlists at ``origin`` list them:
    playlists, init and media segments, thumbnails."""
    master = f"{origin}/vod/{public_id}/master.m3u8{query}"
    urls = [master]
    status, body, _ = await get(api, master)
    assert status == 200, body
    for variant in m3u8.loads(body.decode()).playlists:
        playlist_url = urljoin(master, variant.uri)
        urls.append(playlist_url)
        status, body, _ = await get(api, playlist_url)
        playlist = m3u8.loads(body.decode())
        assert status == 200 and playlist.segments
        urls += sorted({urljoin(playlist_url, s.init_section.uri) for s in playlist.segments})
        urls += [urljoin(playlist_url, s.uri) for s in playlist.segments]
    thumbnails = (await api.call("GET", f"/videos/{public_id}/thumbnails", account=owner)).body
    urls += [f"{origin}/vod/{public_id}/thumb{t['id']}.jpg{query}" for t in thumbnails]
    return [url.removeprefix(origin) for url in urls]


def comparable(headers) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in UNCOMPARED}


async def test_a_recorded_stream_plays_from_storage_as_from_an_origin(
        api, vod_node, streamed, start_edge):
    public_id, owner = streamed
    from_storage = await start_edge([dead_origin()], storage_fallback=True)
    from_origin = await start_edge([vod_node.http])
    paths = await every_path(api, vod_node.http, public_id, owner)
    assert len(paths) >= 6  # master, media playlist, init, ≥ 2 segments, poster
    for path in paths:
        status, body, headers = await get(api, from_storage.http + path)
        assert (status, headers["X-Cache"]) == (200, "STORAGE"), (path, body[:200])
        reference = await get(api, from_origin.http + path)
        assert reference[0] == 200 and reference[2]["X-Cache"] == "MISS"
        assert body == reference[1], path
        assert comparable(headers) == comparable(reference[2]), path
        status, again, headers = await get(api, from_storage.http + path)
        assert (status, again, headers["X-Cache"]) == (200, body, "HIT")
    dead = from_storage.origins
    assert dead.fetches > 0 and dead.errors == dead.fetches, "every answer came from storage"


@pytest.mark.parametrize("privacy", ["unlisted", "private"])
async def test_a_restricted_video_plays_from_storage_with_a_viewers_token(
        api, vod_node, recorder, media, start_edge, privacy):
    public_id, owner = await recorded_video(api, recorder, media, privacy=privacy)
    from_storage = await start_edge([dead_origin()], storage_fallback=True)
    from_origin = await start_edge([vod_node.http])
    key = vod_node.node.api.playback_key
    refused = [None, "v1.forged.0..AAAA",
               playback_tokens.issue(key, "AAAAAAAAAAA", int(time.time()) + 60),  # another video
               playback_tokens.issue(key, public_id, int(time.time()) - 1)]  # expired
    for edge in (from_storage, from_origin):
        for token in refused:
            query = "" if token is None else f"?token={token}"
            for name in ("master.m3u8", "source/index.m3u8", "source/seg50.m4s"):
                status, _, _ = await get(api, f"{edge.http}/vod/{public_id}/{name}{query}")
                assert status == 403, (edge.http, token, name)

    got = await api.call("POST", f"/videos/{public_id}/playback-token", account=owner)
    token = got.body["token"]
    for path in await every_path(api, vod_node.http, public_id, owner, f"?token={token}"):
        status, body, headers = await get(api, from_storage.http + path)
        assert status == 200 and headers["X-Cache"] in ("STORAGE", "HIT"), path
        assert headers["Cache-Control"].startswith("private")
        assert "Tributary-Access" not in headers and "CDN-Cache-Control" not in headers
        reference = await get(api, from_origin.http + path)
        assert body == reference[1] and comparable(headers) == comparable(reference[2]), path
        status, _, headers = await get(api, from_storage.http + path)
        assert (status, headers["X-Cache"]) == (200, "HIT"), "kept for every viewer with a token"
        if path.endswith(".m3u8?token=" + token):
            lines = body.decode().splitlines()
            uris = [line for line in lines if line and not line.startswith("#")]
            assert uris and all(uri.endswith(f"?token={token}") for uri in uris)


async def test_what_storage_lacks(api, vod_node, recorder, media, start_edge):
    """Names the manifest rules out are the origin's 404; anything storage cannot answer (no
    manifest, an object missing) is left to the proxy, which has no copy and answers 502."""
    public_id, owner = await recorded_video(api, recorder, media)
    from_storage = await start_edge([dead_origin()], storage_fallback=True)
    from_origin = await start_edge([vod_node.http])
    for name in ("nothere/index.m3u8", "nothere/seg50.m4s", "source/part3.m4s", "thumb999999.jpg"):
        status, body, _ = await get(api, f"{from_storage.http}/vod/{public_id}/{name}")
        assert status == 404, name
        assert (status, body) == (await get(api, f"{from_origin.http}/vod/{public_id}/{name}"))[:2]
    for path in (f"{public_id}/source/seg999.m4s", f"{public_id}/source/init1.mp4",
                 "AAAAAAAAAAA/master.m3u8"):
        status, _, _ = await get(api, f"{from_storage.http}/vod/{path}")
        assert status == 502, path
    without_fallback = await start_edge([dead_origin()])
    status, _, _ = await get(api, f"{without_fallback.http}/vod/{public_id}/master.m3u8")
    assert status == 502


async def test_a_video_in_s3_plays_from_s3(
        api, vod_node, recordings, media, start_edge, moto_endpoint, s3_bucket):
    settings = s3_settings(moto_endpoint, s3_bucket, prefix="media/")
    s3 = S3Storage(settings)
    await s3.open()
    try:
        recorder = Recorder(s3, recordings, queue_bytes=1 << 26)
        public_id, _ = await recorded_video(api, recorder, media)
        edge = await start_edge([dead_origin()], storage=StorageSettings(s3=settings),
                                storage_fallback=True)
        master = f"{edge.http}/vod/{public_id}/master.m3u8"
        status, body, headers = await get(api, master)
        assert (status, headers["X-Cache"]) == (200, "STORAGE")
        stored = await recordings.stored_video(public_id)
        assert body == await s3.get(stored.playlist_path)
        for msn, data in enumerate(media[1], start=50):
            segment = f"{edge.http}/vod/{public_id}/source/seg{msn}.m4s"
            status, body, headers = await get(api, segment)
            assert (status, body, headers["X-Cache"]) == (200, data, "STORAGE")
    finally:
        await s3.close()


# -- StorageFallback itself, on real storage ------------------------------------------------

async def test_manifests_are_kept_briefly(api, recorder, recordings, node_storage, media):
    """A manifest read (or its absence) is reused for ``manifest_seconds``, then read again."""
    public_id, _ = await recorded_video(api, recorder, media)
    fallback = StorageFallback(node_storage, max_bytes=1 << 20, manifest_seconds=0.5)
    master = {"video": public_id}
    assert (await fallback(master)).status == 200
    await node_storage.delete(manifest_key(public_id))
    assert (await fallback(master)).status == 200, "the manifest is remembered"
    await asyncio.sleep(0.6)
    assert await fallback(master) is None, "and read again once it is old"
    await PlaybackManifests(node_storage, recordings).refresh(public_id)
    assert await fallback(master) is None, "its absence is remembered too"
    await asyncio.sleep(0.6)
    assert (await fallback(master)).status == 200
    # Concurrent first requests for one video (one manifest read in flight) all get answers.
    fresh = StorageFallback(node_storage, max_bytes=1 << 20)
    segments = [{"video": public_id, "rendition": "source", "name": f"seg{msn}.m4s"}
                for msn in range(50, 50 + len(media[1]))]
    answers = await asyncio.gather(*(fresh(match) for match in segments * 5))
    assert [a.body for a in answers] == [*media[1]] * 5


async def test_objects_larger_than_the_edge_keeps_are_refused(api, recorder, node_storage, media):
    public_id, _ = await recorded_video(api, recorder, media)
    segment = {"video": public_id, "rendition": "source", "name": "seg50.m4s"}
    size = len(media[1][0])
    assert (await StorageFallback(node_storage, max_bytes=size)(segment)).body == media[1][0]
    with pytest.raises(ObjectTooLarge):
        await StorageFallback(node_storage, max_bytes=size - 1)(segment)


async def test_failing_storage_is_no_answer_and_a_warning():
    s3 = S3Storage(s3_settings(dead_origin(), "unreachable", attempts=1))
    await s3.open()
    try:
        with capture_logs() as logs:
            assert await StorageFallback(s3, max_bytes=1 << 20)({"video": "AAAAAAAAAAA"}) is None
        [warning] = logs
        assert (warning["event"], warning["log_level"]) == ("edge.storage_failed", "warning")
    finally:
        await s3.close()
