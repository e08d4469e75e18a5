"""Origin live routes over a real aiohttp server: playlists, blocking reload, hints, hardening."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient

BASE = "/live/live1"
PLAYLIST = f"{BASE}/720p/index.m3u8"


async def raw_status(client: TestClient, target: str) -> int:
    """Send a request line exactly as given (no client-side URL normalisation)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def eventually(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def blocked(task: asyncio.Task) -> bool:
    return not task.done()


# ---------------------------------------------------------------- multivariant


async def test_multivariant_playlist(serve, streams):
    streams["live1"].publish(12)
    client = await serve()
    response = await client.get(f"{BASE}/master.m3u8")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    text = await response.text()
    assert text.startswith("#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n")
    assert "720p/index.m3u8\n" in text and "360p/index.m3u8\n" in text
    assert 'CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000' in text


async def test_unknown_stream_or_rendition_is_404_with_a_message(serve):
    client = await serve()
    response = await client.get("/live/nobody/master.m3u8")
    assert response.status == 404
    assert "not live" in await response.text()
    assert response.headers["Cache-Control"] == "no-store"
    response = await client.get(f"{BASE}/1080p/index.m3u8")
    assert response.status == 404
    assert "no rendition '1080p'" in await response.text()


async def test_first_request_waits_for_the_first_part(serve, streams):
    client = await serve(ready_timeout=2.0)
    request = asyncio.create_task(client.get(f"{BASE}/master.m3u8"))
    await asyncio.sleep(0.05)
    assert blocked(request)
    streams["live1"].publish(1)
    response = await request
    assert response.status == 200


async def test_no_media_within_the_ready_timeout_is_503(serve):
    client = await serve(ready_timeout=0.05)
    for path in (f"{BASE}/master.m3u8", PLAYLIST):
        response = await client.get(path)
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"


# ---------------------------------------------------------------- media playlists


async def test_media_playlist_with_rendition_reports(serve, streams):
    streams["live1"].publish(25)
    client = await serve()
    response = await client.get(PLAYLIST)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-cache"
    text = await response.text()
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES," in text
    assert '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part25.m4s"' in text
    assert '#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=2,LAST-PART=4' in text


async def test_blocking_reload_answers_within_ms_of_the_part(serve, streams):
    stream = streams["live1"]
    stream.publish(13)  # segment 1 has parts 0..2
    client = await serve()
    request = asyncio.create_task(client.get(f"{PLAYLIST}?_HLS_msn=1&_HLS_part=3"))
    await asyncio.sleep(0.1)
    assert blocked(request)
    started = time.perf_counter()
    stream.publish(1)
    response = await request
    latency = time.perf_counter() - started
    assert response.status == 200
    assert latency < 0.2, latency
    assert '"part13.m4s"' in await response.text()
    assert response.headers["Cache-Control"].startswith("public, max-age=")


async def test_blocking_on_a_segment_waits_for_it_to_complete(serve, streams):
    stream = streams["live1"]
    stream.publish(5)
    client = await serve()
    request = asyncio.create_task(client.get(f"{PLAYLIST}?_HLS_msn=0"))
    stream.publish(5)  # segment 0 has all its parts but is still open
    await asyncio.sleep(0.05)
    assert blocked(request)
    stream.publish(1)
    assert "seg0.m4s" in await (await request).text()


async def test_already_satisfied_and_old_requests_answer_at_once(serve, streams):
    streams["live1"].publish(25)
    client = await serve()
    for query in ("_HLS_msn=0", "_HLS_msn=2&_HLS_part=4", "_HLS_msn=1&_HLS_part=99"):
        response = await client.get(f"{PLAYLIST}?{query}")
        assert response.status == 200, query


async def test_reload_not_satisfied_in_time_is_503(serve, streams):
    streams["live1"].publish(3)
    client = await serve(block_timeout_factor=0.05)  # 0.1 s
    response = await client.get(f"{PLAYLIST}?_HLS_msn=1")
    assert response.status == 503
    assert response.headers["Cache-Control"] == "no-store"
    assert streams["live1"].main.pending_waiters == 0


@pytest.mark.parametrize(
    "query",
    [
        "_HLS_part=1",  # part without msn
        "_HLS_msn=3",  # more than two segments past the last (segment 0)
        "_HLS_msn=0&_HLS_part=20",  # beyond the Advance Part Limit (15 parts)
        "_HLS_msn=1&_HLS_part=15",
        "_HLS_msn=abc",
        "_HLS_msn=-1",
        "_HLS_msn=1.0",
        "_HLS_msn=%2B1",
        "_HLS_msn=0x1",
        "_HLS_msn=",
        "_HLS_msn=" + "1" * 31,
        "_HLS_msn=0&_HLS_part=-2",
        "_HLS_msn=0&_HLS_msn=1",
        "_HLS_msn=0&_HLS_part=1&_HLS_part=2",
        "_HLS_skip=NO",
        "_HLS_skip=yes",
    ],
)
async def test_bad_directives_are_400_and_the_server_keeps_serving(serve, streams, query):
    streams["live1"].publish(3)
    client = await serve()
    response = await client.get(f"{PLAYLIST}?{query}")
    assert response.status == 400, query
    assert len(await response.text()) > 10
    assert (await client.get(f"{PLAYLIST}?_HLS_msn=0&_HLS_part=1&foo=bar")).status == 200


async def test_delta_update(serve, streams):
    stream = streams["live1"]
    stream.publish(125)
    client = await serve()
    text = await (await client.get(f"{PLAYLIST}?_HLS_skip=YES")).text()
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=" in text
    stream.main.end()
    text = await (await client.get(f"{PLAYLIST}?_HLS_skip=YES")).text()
    assert "EXT-X-SKIP" not in text and text.endswith("#EXT-X-ENDLIST\n")


async def test_end_wakes_blocked_requests_and_later_ones_answer_at_once(serve, streams):
    stream = streams["live1"]
    stream.publish(3)
    client = await serve()
    request = asyncio.create_task(client.get(f"{PLAYLIST}?_HLS_msn=1&_HLS_part=0"))
    await asyncio.sleep(0.05)
    assert blocked(request)
    started = time.perf_counter()
    stream.main.end()
    response = await request
    assert time.perf_counter() - started < 0.2
    assert (await response.text()).endswith("#EXT-X-ENDLIST\n")
    response = await client.get(f"{PLAYLIST}?_HLS_msn=9&_HLS_part=9")
    assert response.status == 200  # directives are ignored on an ended playlist


async def test_a_thousand_concurrent_blocked_requests_are_all_answered(serve, streams):
    stream = streams["live1"]
    stream.publish(3)
    client = await serve()
    requests = [
        asyncio.create_task(client.get(f"{PLAYLIST}?_HLS_msn=0&_HLS_part=3"))
        for _ in range(1000)
    ]
    await eventually(lambda: stream.main.pending_waiters == 1000, timeout=10)
    started = time.perf_counter()
    stream.publish(1)
    responses = await asyncio.gather(*requests)
    assert [response.status for response in responses] == [200] * 1000
    bodies = await asyncio.gather(*(response.text() for response in responses))
    assert all('"part3.m4s"' in body for body in bodies)
    assert time.perf_counter() - started < 5
    assert stream.main.pending_waiters == 0


@pytest.mark.parametrize(
    "server_options",
    [{}, {"handler_cancellation": False, "block_timeout_factor": 0.1}],
    ids=["cancelled-at-once", "ends-at-timeout-without-handler-cancellation"],
)
async def test_a_client_that_disconnects_while_blocked_leaves_nothing(serve, streams, server_options):
    stream = streams["live1"]
    stream.publish(3)
    client = await serve(**server_options)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {PLAYLIST}?_HLS_msn=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await eventually(lambda: stream.main.pending_waiters == 1)
    writer.close()
    await eventually(lambda: stream.main.pending_waiters == 0)


# ---------------------------------------------------------------- media


async def test_init_segment_and_part_bytes(serve, streams):
    stream = streams["live1"]
    stream.publish(11)
    client = await serve()
    window = stream.main
    for path, expected in [
        ("init0.mp4", b"init-720p"),
        ("seg0.m4s", window.segment_bytes(0)),
        ("part4.m4s", window.part_bytes(4)),
    ]:
        response = await client.get(f"{BASE}/720p/{path}")
        assert response.status == 200, path
        assert await response.read() == expected
        assert response.headers["Content-Type"] == "video/mp4"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    head = await client.head(f"{BASE}/720p/seg0.m4s")
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(window.segment_bytes(0) or b""))
    assert await head.read() == b""


async def test_preload_hint_fetch_waits_for_the_part(serve, streams):
    stream = streams["live1"]
    stream.publish(3)
    client = await serve()
    request = asyncio.create_task(client.get(f"{BASE}/720p/part3.m4s"))
    await asyncio.sleep(0.05)
    assert blocked(request)
    started = time.perf_counter()
    stream.publish(1)
    response = await request
    assert time.perf_counter() - started < 0.2
    assert response.status == 200
    assert await response.read() == stream.main.part_bytes(3)


@pytest.mark.parametrize(
    "name",
    ["part9.m4s", "seg1.m4s", "seg0.m4s", "init1.mp4", "part01.m4s", "part1.mp4", "init0.m4s"],
)
async def test_unknown_media_is_404_at_once(serve, streams, name):
    streams["live1"].publish(3)  # next part is 3: part 9 is too far ahead to wait for
    client = await serve()
    started = time.perf_counter()
    response = await client.get(f"{BASE}/720p/{name}")
    assert response.status == 404
    assert time.perf_counter() - started < 0.1


async def test_expired_parts_are_404(serve, streams):
    stream = streams["live1"]
    stream.publish(300)
    client = await serve()
    assert stream.main.part_bytes(0) is None
    assert (await client.get(f"{BASE}/720p/part0.m4s")).status == 404
    assert (await client.get(f"{BASE}/720p/part299.m4s")).status == 200


@pytest.mark.parametrize(
    "target",
    [
        "/live/live1/../live1/720p/init0.mp4",
        "/live/live1/720p/../../../etc/passwd",
        "/live/live1/%2e%2e/720p/index.m3u8",
        "/live/live1/720p/..%2Finit0.mp4",
        "/live/live1/720p/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/live/.live1/720p/index.m3u8",
        "/live/live1/720p/init0.mp4/",
        "/live/" + "a" * 65 + "/master.m3u8",
        "/live/live1/720p/part" + "9" * 20 + ".m4s",
    ],
)
async def test_path_traversal_and_odd_names_are_refused(serve, streams, target):
    streams["live1"].publish(3)
    client = await serve()
    assert await raw_status(client, target) in (400, 404)
    assert await raw_status(client, f"{BASE}/720p/init0.mp4") == 200


async def test_cors_preflight(serve):
    client = await serve()
    preflight = {"Origin": "https://player.example", "Access-Control-Request-Method": "GET"}
    response = await client.options(PLAYLIST, headers=preflight)
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
