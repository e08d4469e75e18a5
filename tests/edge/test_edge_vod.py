"""VOD through a real edge in front of a real origin: shared cache, validators, ranges, gzip,
playback tokens checked at the edge (no origin round trip for a bad one), the disk tier, and
URLs and query strings that must never reach an origin."""

from __future__ import annotations

import gzip
import time
from urllib.parse import urljoin

import m3u8
import pytest

from catalog import playback_tokens
from tests.support.recorded_videos import get, recorded_video
from tests.vod.media import fmp4_segments

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


@pytest.fixture(scope="module")
def media() -> tuple[bytes, list[bytes]]:
    return fmp4_segments(seconds=3, size=(320, 180))


async def test_a_public_video_is_fetched_once_and_served_from_the_cache(
    api, vod_node, recorder, media, start_edge
):
    public_id, owner = await recorded_video(api, recorder, media)
    edge = await start_edge([vod_node.http])
    base = f"{edge.http}/vod/{public_id}"
    before = edge.origins.fetches
    for expected in ("MISS", "HIT"):
        status, body, headers = await get(api, f"{base}/master.m3u8?cb={expected}")
        assert status == 200 and headers["X-Cache"] == expected
        assert headers["Content-Type"] == PLAYLIST_TYPE and headers["Access-Control-Allow-Origin"] == "*"
        status, body, headers = await get(api, f"{base}/source/seg51.m4s")
        assert status == 200 and body == media[1][1] and headers["X-Cache"] == expected
    assert edge.origins.fetches - before == 2

    [poster] = (await api.call("GET", f"/videos/{public_id}/thumbnails", account=owner)).body
    status, body, headers = await get(api, f"{base}/thumb{poster['id']}.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"


async def test_validators_ranges_head_and_gzip(api, vod_node, recorder, media, start_edge):
    public_id, _ = await recorded_video(api, recorder, media)
    edge = await start_edge([vod_node.http])
    segment_url = f"{edge.http}/vod/{public_id}/source/seg50.m4s"
    data = media[1][0]

    status, _, headers = await get(api, segment_url)
    etag = headers["ETag"]
    assert status == 200 and headers["Accept-Ranges"] == "bytes"
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        status, body, headers = await get(api, segment_url, headers={"If-None-Match": if_none_match})
        assert status == 304 and body == b"" and headers["ETag"] == etag, if_none_match
    status, body, _ = await get(api, segment_url, headers={"If-None-Match": '"other"'})
    assert status == 200 and body == data

    status, body, headers = await get(api, segment_url, headers={"Range": "bytes=10-19"})
    assert status == 206 and body == data[10:20]
    assert headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    status, body, headers = await get(api, segment_url, headers={"Range": f"bytes={len(data)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}"
    status, body, headers = await get(api, segment_url, method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(data))

    playlist_url = f"{edge.http}/vod/{public_id}/source/index.m3u8"
    status, plain, headers = await get(api, playlist_url, headers={"Accept-Encoding": "identity"})
    assert status == 200 and "Content-Encoding" not in headers and headers["Vary"] == "Accept-Encoding"
    async with api.session.get(playlist_url, headers={"Accept-Encoding": "gzip"},
                               auto_decompress=False) as response:
        compressed = await response.read()
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["ETag"] != headers["ETag"]  # another representation
    assert gzip.decompress(compressed) == plain
    status, _, headers = await get(api, playlist_url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in headers


async def test_playback_tokens_are_checked_at_the_edge(api, vod_node, recorder, media, start_edge):
    key = vod_node.node.api.playback_key
    unlisted, _ = await recorded_video(api, recorder, media, "unlisted")
    private, owner = await recorded_video(api, recorder, media, "private")
    edge = await start_edge([vod_node.http])
    now = int(time.time())

    for video, account in ((unlisted, None), (private, owner)):
        base = f"{edge.http}/vod/{video}"
        status, body, headers = await get(api, f"{base}/master.m3u8")
        assert status == 403 and b"playback token" in body and headers["Cache-Control"] == "no-store"
        token = (await api.call("POST", f"/videos/{video}/playback-token", account=account)).body["token"]
        first = await plays_through(api, f"{base}/master.m3u8", token)
        # Another viewer with their own token: served from the shared copy, with their token.
        second_token = playback_tokens.issue(key, video, now + 600)
        assert await plays_through(api, f"{base}/master.m3u8", second_token) == {"HIT"}
        assert "MISS" in first

        fetches = edge.origins.fetches
        for what, bad in {
            "missing": None,
            "expired": playback_tokens.issue(key, video, now - 1),
            "another video's": playback_tokens.issue(key, unlisted if video == private else private, now + 60),
            "viewer-bound": playback_tokens.issue(key, video, now + 60, "42"),
            "forged": playback_tokens.issue(b"k" * 32, video, now + 60),
            "garbage": "x" * 600,
        }.items():
            for path in ("master.m3u8", "source/index.m3u8", "source/seg50.m4s"):
                query = "" if bad is None else f"?token={bad}"
                status, body, _ = await get(api, f"{base}/{path}{query}")
                assert status == 403, (what, path, body)
        assert edge.origins.fetches == fetches  # refused at the edge, no origin asked


async def plays_through(api, master_url: str, token: str) -> set[str]:
    """Every URI of the playlists carries this viewer's token and plays; the X-Cache values."""
    seen = set()

    async def fetch(url: str) -> bytes:
        status, body, headers = await get(api, url)
        assert status == 200, (url, body)
        assert headers["Cache-Control"].startswith("private")
        seen.add(headers["X-Cache"])
        return body

    master = m3u8.loads((await fetch(f"{master_url}?token={token}")).decode())
    media_url = urljoin(master_url, master.playlists[0].uri)
    assert media_url.endswith(f"?token={token}")
    playlist = m3u8.loads((await fetch(media_url)).decode())
    uris = [playlist.segments[0].init_section.uri, *(s.uri for s in playlist.segments)]
    assert all(uri.endswith(f"?token={token}") for uri in uris)
    for uri in uris:
        await fetch(urljoin(media_url, uri))
    return seen


async def test_the_disk_tier_outlives_the_edge(api, vod_node, recorder, media, start_edge, tmp_path):
    public_id, _ = await recorded_video(api, recorder, media)
    url_path = f"/vod/{public_id}/source/seg52.m4s"
    first = await start_edge([vod_node.http], disk_cache_dir=tmp_path / "disk")
    status, body, headers = await get(api, first.http + url_path)
    assert status == 200 and headers["X-Cache"] == "MISS"
    await first.node.stop()  # writes finish before it returns

    second = await start_edge([vod_node.http], disk_cache_dir=tmp_path / "disk")
    status, from_disk, headers = await get(api, second.http + url_path)
    assert status == 200 and headers["X-Cache"] == "DISK" and from_disk == body
    status, _, headers = await get(api, second.http + url_path)
    assert headers["X-Cache"] == "HIT" and second.origins.fetches == 0


async def test_hostile_urls_and_queries_never_reach_an_origin(api, vod_node, recorder, media, start_edge):
    public_id, _ = await recorded_video(api, recorder, media)
    edge = await start_edge([vod_node.http])
    playlist = f"/vod/{public_id}/source/index.m3u8"
    for path in (
        "/", "/etc/passwd", "/live/../etc/passwd", "/vod/short/master.m3u8",
        "/vod/AAAA%00AAAAAA/master.m3u8", f"/vod/{public_id}/index.m3u8",
        f"/vod/{public_id}/source/seg050.m4s", f"/vod/{public_id}/source/../../../poster.jpg",
        f"/vod/{public_id}/source/..%2F..%2Fposter.jpg", f"/vod/{public_id}/%2e%2e/%2e%2e/master.m3u8",
        f"/vod/{public_id}/.source/index.m3u8", f"/vod/{public_id}/source/seg{'9' * 40}.m4s",
        f"/vod/{public_id}/source\\..\\index.m3u8", "/vod/" + "A" * 5000,
        f"//vod/{public_id}/master.m3u8", f"/vod/{public_id}/master.m3u8/", "/metrics/../live/x",
        f"{playlist}?_HLS_msn=abc", f"{playlist}?_HLS_msn=-1", f"{playlist}?_HLS_msn=1&_HLS_msn=2",
        f"{playlist}?_HLS_part=1", f"{playlist}?_HLS_msn=1&_HLS_skip=NO",
        f"{playlist}?_HLS_msn={'9' * 40}",
    ):
        status, body, _ = await get(api, edge.http + path, raw=True)
        assert 400 <= status < 500, (path, status, body[:100])
    assert edge.origins.fetches == 0

    # Unknown parameters, however many or odd, are one cache entry: one origin fetch.
    for query in ("", "?a=1", "?token=&x=%00", "?" + "&".join(f"p{i}=v" for i in range(200)),
                  "?_hls_msn=5", "?%ff=%fe"):
        status, _, _ = await get(api, f"{edge.http}{playlist}{query}", raw=True)
        assert status == 200, query
    assert edge.origins.fetches == 1
    status, _, _ = await get(api, f"{edge.http}{playlist}?" + "x" * 20_000, raw=True)
    assert status in (400, 414, 431)
    status, _, headers = await get(api, f"{edge.http}{playlist}", method="OPTIONS")
    assert status == 204 and "Range" in headers["Access-Control-Allow-Headers"]
    status, _, _ = await get(api, f"{edge.http}{playlist}", method="POST")
    assert status == 405
    status, _, _ = await get(api, f"{edge.http}{playlist}")
    assert status == 200  # still serving
