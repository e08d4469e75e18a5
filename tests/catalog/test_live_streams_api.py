"""Live streams through the API, published with the real ffmpeg over RTMP into the real node."""

from __future__ import annotations

import aiohttp

from tests.support.ffmpeg import Source, publish, start_publish
from tests.support.llhls import wait_playlist

SHORT = Source(seconds=1)


async def test_create_publish_rotate_revoke(api):
    creator = await api.register(creator=True)
    name = f"live-{creator.username[1:]}"
    created = await api.call("POST", "/live-streams", json={"name": name, "title": "Launch"},
                             account=creator)
    assert created.status == 201, created.body
    body = created.body
    assert body["rtmp_url"] == api.node.rtmp
    assert body["whip_url"] == f"{api.node.http}/whip/{name}"
    assert body["stream"]["playlist_url"] == f"{api.node.http}/live/{name}/master.m3u8"
    first_key = body["stream_key"]

    pusher = await start_publish(f"{body['rtmp_url']}/{first_key}", Source(seconds=20))
    try:
        async with aiohttp.ClientSession() as http:
            await wait_playlist(http, body["stream"]["playlist_url"])
        live_now = await api.call("GET", "/live-now")
        listed = {item["name"]: item for item in live_now.body["items"]}
        assert listed[name]["live"] is True and listed[name]["channel"] == creator.channel
        own = await api.call("GET", "/live-streams", account=creator)
        assert own.body["items"][0] == {**body["stream"], "live": True}
    finally:
        pusher.kill()
        await pusher.wait()

    keys = await api.call("GET", f"/live-streams/{name}/keys", account=creator)
    assert keys.body[0]["last_used_at"] is not None and "stream_key" not in keys.body[0]

    rotated = await api.call("POST", f"/live-streams/{name}/keys/{body['key']['id']}/rotate",
                             account=creator)
    assert rotated.status == 201 and rotated.body["stream_key"] != first_key
    code, _ = await publish(f"{api.node.rtmp}/{first_key}", SHORT)
    assert code != 0, "the rotated-out key must be refused"
    code, err = await publish(f"{api.node.rtmp}/{rotated.body['stream_key']}", SHORT)
    assert code == 0, err

    backup = await api.call("POST", f"/live-streams/{name}/keys", json={"label": "backup encoder"},
                            account=creator)
    assert backup.status == 201
    labels = [k["label"] for k in (await api.call("GET", f"/live-streams/{name}/keys",
                                                  account=creator)).body]
    assert labels == ["", "backup encoder"]
    revoked = await api.call("DELETE", f"/live-streams/{name}/keys/{backup.body['key']['id']}",
                             account=creator)
    assert revoked.status == 204
    code, _ = await publish(f"{api.node.rtmp}/{backup.body['stream_key']}", SHORT)
    assert code != 0, "a revoked key must be refused"
    again = await api.call("DELETE", f"/live-streams/{name}/keys/{backup.body['key']['id']}",
                           account=creator)
    assert again.status == 404


async def test_names_are_unique_across_channels_and_the_command_line(api):
    alice, bob = await api.register(creator=True), await api.register(creator=True)
    cli_name, _ = await api.node.new_stream()
    got = await api.call("POST", "/live-streams", json={"name": cli_name}, account=alice)
    assert got.status == 409 and got.body["error"] == "stream_exists"
    name = f"u-{alice.username[1:]}"
    assert (await api.call("POST", "/live-streams", json={"name": name}, account=alice)).status == 201
    assert (await api.call("POST", "/live-streams", json={"name": name}, account=bob)).status == 409


async def test_key_limit_and_pagination(api):
    creator = await api.register(creator=True)
    names = [f"p{i}-{creator.username[1:]}" for i in range(5)]
    for name in names:
        assert (await api.call("POST", "/live-streams", json={"name": name}, account=creator)).status == 201
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await api.call("GET", "/live-streams", params=params, account=creator)
        assert page.status == 200 and len(page.body["items"]) <= 2
        seen += [item["name"] for item in page.body["items"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert seen == names[::-1]  # newest first, each exactly once

    for _ in range(9):
        assert (await api.call("POST", f"/live-streams/{names[0]}/keys", json={},
                               account=creator)).status == 201
    full = await api.call("POST", f"/live-streams/{names[0]}/keys", json={}, account=creator)
    assert full.status == 409 and full.body["error"] == "too_many_keys"
