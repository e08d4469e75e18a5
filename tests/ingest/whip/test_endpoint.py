"""The WHIP resources over HTTP (RFC 9725) on a real node: statuses, headers, CORS, trickle."""

from __future__ import annotations

import aiohttp

from tests.ingest.whip.client import WhipClient, sample_offer
from tests.ingest.whip.conftest import WhipNodes, wait_until
from tests.ingest.whip.synthetic import BeepMicrophone, FlashCamera
from tests.support.llhls import fetch, wait_playlist
from tests.support.nodes import RunningNode

SDP = {"Content-Type": "application/sdp"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(http: aiohttp.ClientSession, url: str, body: str | bytes, **headers: str) -> tuple[int, dict[str, str], str]:
    async with http.post(url, data=body, headers={**SDP, **headers}) as resp:
        return resp.status, dict(resp.headers), await resp.text()


async def live_client(http: aiohttp.ClientSession, node: RunningNode, key: str, path: str = "/whip") -> WhipClient:
    client = WhipClient(http, node.http + path, key, [FlashCamera(), BeepMicrophone()])
    answer = await client.publish()
    assert answer.status == 201, answer.body
    return client


async def test_created_session_headers_and_answer(start_node: WhipNodes, http):
    node = await start_node()
    name, key = await node.new_stream()
    client = WhipClient(http, f"{node.http}/whip", key, [FlashCamera(), BeepMicrophone()])
    answer = await client.publish()
    try:
        assert answer.status == 201
        headers = answer.headers
        assert headers["Content-Type"] == "application/sdp"
        assert headers["Location"].startswith("/whip/sessions/")
        assert headers["ETag"].startswith('"') and headers["ETag"].endswith('"')
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "Location" in headers["Access-Control-Expose-Headers"]
        assert "a=recvonly" in answer.body and "a=candidate:" in answer.body
        await wait_playlist(http, node.playlist_url(name))
    finally:
        assert await client.delete() == 200
    await wait_until(lambda: node.node.whip.session_count == 0, 5, "the session to end")


async def test_the_per_stream_url_takes_only_that_streams_key(start_node: WhipNodes, http):
    node = await start_node()
    name, key = await node.new_stream()
    other, other_key = await node.new_stream()
    offer = await sample_offer()
    status, headers, _ = await post(http, f"{node.http}/whip/{name}", offer, **bearer(other_key))
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    status, _, _ = await post(http, f"{node.http}/whip/Not-A-Name!", offer, **bearer(key))
    assert status == 404
    client = await live_client(http, node, key, f"/whip/{name}")
    await wait_playlist(http, node.playlist_url(name))
    assert (await fetch(http, f"{node.http}/live/{other}/master.m3u8")).status == 404
    await client.delete()


async def test_cors_preflight(start_node: WhipNodes, http):
    node = await start_node()
    preflight = {"Origin": "https://studio.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    async with http.options(f"{node.http}/whip", headers=preflight) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
        assert resp.headers["Accept-Post"] == "application/sdp"
    async with http.options(f"{node.http}/whip/sessions/anything", headers=preflight) as resp:
        assert resp.status == 200
        assert {"PATCH", "DELETE"} <= set(resp.headers["Access-Control-Allow-Methods"].replace(",", " ").split())
        assert "If-Match" in resp.headers["Access-Control-Allow-Headers"]
    async with http.get(f"{node.http}/whip") as resp:
        assert resp.status == 405 and "POST" in resp.headers["Allow"]
    async with http.put(f"{node.http}/whip/sessions/anything") as resp:
        assert resp.status == 405


async def test_authentication_and_content_type(start_node: WhipNodes, http):
    node = await start_node()
    name, key = await node.new_stream()
    offer = await sample_offer()
    url = f"{node.http}/whip"
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "},
                    bearer("trb_" + "x" * 43), bearer("y" * 600)):
        status, got, text = await post(http, url, offer, **headers)
        assert status == 401 and got["WWW-Authenticate"] == "Bearer", (headers, text)
    async with http.post(url, data=offer, headers={"Content-Type": "text/plain", **bearer(key)}) as resp:
        assert resp.status == 415 and resp.headers["Accept-Post"] == "application/sdp"
    async with http.post(url, data=offer.encode(), headers=bearer(key)) as resp:
        assert resp.status == 415
    assert (await fetch(http, f"{node.http}/live/{name}/master.m3u8")).status == 404
    assert node.node.whip.session_count == 0


async def test_one_publisher_per_stream(start_node: WhipNodes, http):
    node = await start_node()
    name, key = await node.new_stream()
    first = await live_client(http, node, key)
    await wait_playlist(http, node.playlist_url(name))
    second = WhipClient(http, f"{node.http}/whip", key, [FlashCamera(), BeepMicrophone()])
    answer = await second.publish()
    assert answer.status == 409 and "already" in answer.body
    await second.close()
    assert node.node.whip.session_count == 1
    assert await first.delete() == 200
    # The stream can be published again (within the reconnect grace: it continues).
    third = await live_client(http, node, key)
    assert await third.delete() == 200


async def test_sessions_are_bounded(start_node: WhipNodes, http):
    node = await start_node(max_sessions=1)
    _, key = await node.new_stream()
    _, other_key = await node.new_stream()
    first = await live_client(http, node, key)
    status, headers, text = await post(http, f"{node.http}/whip", await sample_offer(), **bearer(other_key))
    assert status == 503 and headers["Retry-After"].isdigit(), text
    await first.delete()
    second = await live_client(http, node, other_key)  # the slot is free again
    assert await second.delete() == 200


async def test_delete(start_node: WhipNodes, http):
    node = await start_node()
    _, key = await node.new_stream()
    _, other_key = await node.new_stream()
    async with http.delete(f"{node.http}/whip/sessions/nope", headers=bearer(key)) as resp:
        assert resp.status == 404
    client = await live_client(http, node, key)
    assert client.resource is not None
    async with http.delete(client.resource, headers=bearer(other_key)) as resp:
        assert resp.status == 401
    async with http.delete(client.resource) as resp:
        assert resp.status == 401
    assert await client.delete() == 200
    async with http.delete(client.resource, headers=bearer(key)) as resp:
        assert resp.status == 404


async def test_trickle_ice_patch(start_node: WhipNodes, http):
    node = await start_node()
    _, key = await node.new_stream()
    client = await live_client(http, node, key)
    assert client.resource is not None
    ufrag = client.pc.localDescription.sdp.split("a=ice-ufrag:")[1].split()[0]
    etag = client.etag
    assert etag is not None
    candidate = "a=candidate:1 1 udp 2122260223 192.0.2.9 61764 typ host\r\n"
    frag = {"Content-Type": "application/trickle-ice-sdpfrag", **bearer(key)}

    async def patch(body: str, **headers: str) -> int:
        async with http.patch(client.resource, data=body, headers={**frag, **headers}) as resp:
            return resp.status

    assert await patch(candidate) == 428
    assert await patch(candidate, **{"If-Match": '"stale"'}) == 412
    assert await patch(f"a=ice-ufrag:{ufrag}\r\n{candidate}a=end-of-candidates\r\n", **{"If-Match": etag}) == 204
    assert await patch(candidate, **{"If-Match": "*"}) == 204, "candidates after end-of-candidates are dropped"
    assert await patch("a=ice-ufrag:new1\r\na=ice-pwd:restartrestartrestart12\r\n", **{"If-Match": "*"}) == 422
    assert await patch("nonsense", **{"If-Match": etag}) == 400
    async with http.patch(client.resource, data=candidate, headers={**bearer(key), "If-Match": etag,
                                                                    "Content-Type": "application/sdp"}) as resp:
        assert resp.status == 415
    async with http.patch(client.resource, data="a=" + "x" * 40_000, headers={**frag, "If-Match": etag}) as resp:
        assert resp.status == 413
    assert await client.delete() == 200
