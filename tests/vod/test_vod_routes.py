"""The origin's VOD routes on a real node: playlists, media and thumbnails from storage, byte
ranges, the catalog's access rule with playback tokens, and hostile requests (always a clear 4xx)."""

from __future__ import annotations

import time
from urllib.parse import urljoin

import m3u8
import pytest

from catalog import playback_tokens
from tests.support.api_client import Api
from tests.support.recorded_videos import get, recorded_video
from tests.vod.media import fmp4_segments

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


@pytest.fixture(scope="module")
def media() -> tuple[bytes, list[bytes]]:
    return fmp4_segments(seconds=3, size=(320, 180))


async def test_a_public_video_plays_from_storage(api, vod_node, recorder, media):
    public_id, owner = await recorded_video(api, recorder, media)
    video = (await api.call("GET", f"/videos/{public_id}")).body
    status, body, headers = await get(api, video["playback_url"])
    assert status == 200 and headers["Content-Type"] == PLAYLIST_TYPE
    assert headers["Cache-Control"] == "public, max-age=60, stale-if-error=86400"
    assert headers["Access-Control-Allow-Origin"] == "*"
    master = m3u8.loads(body.decode())
    media_url = urljoin(video["playback_url"], master.playlists[0].uri)
    status, body, _ = await get(api, media_url)
    playlist = m3u8.loads(body.decode())
    assert status == 200 and [s.uri for s in playlist.segments] == ["seg50.m4s", "seg51.m4s", "seg52.m4s"]
    init_url = urljoin(media_url, playlist.segments[0].init_section.uri)
    status, body, headers = await get(api, init_url)
    assert status == 200 and body == media[0] and headers["Content-Type"] == "video/mp4"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["Accept-Ranges"] == "bytes"
    for segment, data in zip(playlist.segments, media[1]):
        status, body, _ = await get(api, urljoin(media_url, segment.uri))
        assert status == 200 and body == data
    status, body, headers = await get(api, urljoin(media_url, "seg50.m4s"), method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(media[1][0]))

    [poster] = (await api.call("GET", f"/videos/{public_id}/thumbnails", account=owner)).body
    assert poster["url"] == f"{vod_node.http}/vod/{public_id}/thumb{poster['id']}.jpg"
    status, body, headers = await get(api, poster["url"])
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"


async def test_byte_ranges(api, vod_node, recorder, media):
    public_id, _ = await recorded_video(api, recorder, media)
    url = f"{vod_node.http}/vod/{public_id}/source/seg50.m4s"
    data = media[1][0]
    size = len(data)
    for header, (first, last) in {
        "bytes=0-9": (0, 9), "bytes=10-": (10, size - 1), "bytes=-5": (size - 5, size - 1),
        "bytes=0-99999999": (0, size - 1), f"bytes=-{size * 2}": (0, size - 1), "BYTES=3-3": (3, 3),
    }.items():
        status, body, headers = await get(api, url, headers={"Range": header})
        assert status == 206 and body == data[first:last + 1], header
        assert headers["Content-Range"] == f"bytes {first}-{last}/{size}"
    status, body, headers = await get(api, url, method="HEAD", headers={"Range": "bytes=0-9"})
    assert status == 206 and headers["Content-Length"] == "10" and body == b""
    # Another unit must be ignored (RFC 9110 §14.2): the whole object.
    status, body, _ = await get(api, url, headers={"Range": "items=0-5"})
    assert status == 200 and body == data
    for header in (f"bytes={size}-", f"bytes={size}-{size + 5}", "bytes=5-2", "bytes=-0", "bytes=",
                   "bytes=-", "bytes=a-b", "bytes=0-1,3-4", "bytes=1" + "0" * 30 + "-", "bytes= 0-1"):
        status, body, headers = await get(api, url, headers={"Range": header})
        assert status == 416, header
        assert headers["Content-Range"] == f"bytes */{size}" and headers["Cache-Control"] == "no-store"


async def test_hostile_requests_get_a_clear_4xx(api, vod_node, recorder, media):
    public_id, _ = await recorded_video(api, recorder, media)
    base = f"{vod_node.http}/vod/{public_id}"
    for path in (
        "/vod/AAAAAAAAAAA/master.m3u8",  # no such video
        "/vod/short/master.m3u8", "/vod/AAAAAAAAAAAA/master.m3u8", "/vod/AAAA%00AAAAAA/master.m3u8",
        f"/vod/{public_id}/index.m3u8", f"/vod/{public_id}/other/index.m3u8",
        f"/vod/{public_id}/source/seg999.m4s", f"/vod/{public_id}/source/seg050.m4s",
        f"/vod/{public_id}/source/part50.m4s", f"/vod/{public_id}/source/init5.m4s",
        f"/vod/{public_id}/source/poster.jpg", f"/vod/{public_id}/thumb999999.jpg",
        f"/vod/{public_id}/thumb01.jpg", f"/vod/{public_id}/source/../../../poster.jpg",
        f"/vod/{public_id}/source/..%2F..%2Fposter.jpg", f"/vod/{public_id}/%2e%2e/%2e%2e/master.m3u8",
        f"/vod/{public_id}/source/%2e%2e%2fseg50.m4s", f"/vod/{public_id}/.source/index.m3u8",
        f"/vod/{public_id}/source/seg{'9' * 40}.m4s", f"/vod/{public_id}/source%00/index.m3u8",
        f"/vod/{public_id}/source\\..\\index.m3u8", "/vod/" + "A" * 5000,
    ):
        status, body, _ = await get(api, vod_node.http + path, raw=True)
        assert 400 <= status < 500, (path, status, body[:100])
    status, _, headers = await get(api, f"{base}/master.m3u8", method="OPTIONS")
    assert status == 204 and "Range" in headers["Access-Control-Allow-Headers"]
    status, _, _ = await get(api, f"{base}/master.m3u8", method="POST")
    assert status == 405


async def test_unlisted_and_private_videos_play_with_a_playback_token(api, vod_node, recorder, media):
    key = vod_node.node.api.playback_key
    unlisted, _ = await recorded_video(api, recorder, media, "unlisted")
    private, owner = await recorded_video(api, recorder, media, "private")
    base = f"{vod_node.http}/vod"

    status, body, _ = await get(api, f"{base}/{unlisted}/master.m3u8")
    assert status == 403 and b"playback-token" in body  # anyone may watch it: the answer says how
    status, _, _ = await get(api, f"{base}/{private}/master.m3u8")
    assert status == 404  # like a video that does not exist

    token = (await api.call("POST", f"/videos/{unlisted}/playback-token")).body["token"]
    await plays_with(api, f"{base}/{unlisted}/master.m3u8?token={token}", token)
    owners_token = (await api.call("POST", f"/videos/{private}/playback-token", account=owner)).body["token"]
    await plays_with(api, f"{base}/{private}/master.m3u8?token={owners_token}", owners_token)

    now = int(time.time())
    for video, answer, another_videos in ((unlisted, 403, owners_token), (private, 404, token)):
        refused = {
            "another video's": another_videos,
            "expired": playback_tokens.issue(key, video, now - 1),
            "viewer-bound": playback_tokens.issue(key, video, now + 60, "42"),
            "forged": playback_tokens.issue(b"k" * 32, video, now + 60),
            "garbage": "x" * 600,
        }
        for what, bad in refused.items():
            status, _, _ = await get(api, f"{base}/{video}/source/seg50.m4s?token={bad}")
            assert status == answer, what


async def plays_with(api: Api, master_url: str, token: str) -> None:
    """Every URI the playlists list carries the token and answers, privately cacheable."""
    status, body, headers = await get(api, master_url)
    assert status == 200 and headers["Cache-Control"] == "private, max-age=60, stale-if-error=86400"
    master = m3u8.loads(body.decode())
    media_url = urljoin(master_url, master.playlists[0].uri)
    assert media_url.endswith(f"?token={token}")
    status, body, _ = await get(api, media_url)
    playlist = m3u8.loads(body.decode())
    uris = [playlist.segments[0].init_section.uri, *(s.uri for s in playlist.segments)]
    assert status == 200 and all(uri.endswith(f"?token={token}") for uri in uris)
    for uri in uris:
        status, _, headers = await get(api, urljoin(media_url, uri))
        assert status == 200 and headers["Cache-Control"] == "private, max-age=31536000, immutable"
