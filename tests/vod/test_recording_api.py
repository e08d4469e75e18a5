"""The API side of recordings: turning recording off per stream, and the playback URL a ready
video carries."""

from __future__ import annotations

import uuid

from catalog.access import Role
from catalog.live_streams import LiveStreamCatalog
from tests.support.videos import publish, upload


async def test_a_creator_turns_recording_off_and_on(api, vod_node):
    owner = await api.register(creator=True)
    name = f"a{uuid.uuid4().hex[:12]}"
    created = await api.call("POST", "/live-streams", json={"name": name}, account=owner)
    assert created.body["stream"]["record"] is True  # every stream is recorded unless turned off
    path = f"/live-streams/{name}"
    got = await api.call("PATCH", path, json={"record": False}, account=owner)
    assert got.status == 200 and got.body["record"] is False and got.body["name"] == name
    assert (await LiveStreamCatalog(vod_node.node.pool).by_name(name)).record is False
    listed = (await api.call("GET", "/live-streams", account=owner)).body["items"]
    assert [s["record"] for s in listed if s["name"] == name] == [False]
    for unchanged in ({}, {"record": None}):
        assert (await api.call("PATCH", path, json=unchanged, account=owner)).body["record"] is False
    assert (await api.call("PATCH", path, json={"record": True}, account=owner)).body["record"] is True

    assert (await api.call("PATCH", path, json={"record": False})).status == 401
    stranger = await api.register(creator=True)
    assert (await api.call("PATCH", path, json={"record": False}, account=stranger)).status == 404
    for bad in ({"record": "no"}, {"record": 0}, {"title": "x"}):
        got = await api.call("PATCH", path, json=bad, account=owner)
        assert got.status == 422 and got.body["error"] == "validation_error", bad
    assert (await api.call("PATCH", "/live-streams/no-such-stream", json={}, account=owner)).status == 404


async def test_admins_manage_recording_of_command_line_streams(api, vod_node, cli_stream):
    stream = await cli_stream()
    admin = await api.register()
    await api.set_role(admin, Role.ADMIN)
    got = await api.call("PATCH", f"/live-streams/{stream.name}", json={"record": False}, account=admin)
    assert got.status == 200 and got.body["record"] is False


async def test_a_ready_video_carries_its_playback_url(api, vod_node):
    owner = await api.register(creator=True)
    uploading = await upload(api, owner)
    assert (await api.call("GET", f"/videos/{uploading}", account=owner)).body["playback_url"] is None
    ready = await publish(api, owner)
    got = await api.call("GET", f"/videos/{ready}")
    assert got.body["playback_url"] == f"{vod_node.http}/vod/{ready}/master.m3u8"
    listed = (await api.call("GET", f"/channels/{owner.channel}/videos")).body["items"]
    assert [v["playback_url"] for v in listed] == [got.body["playback_url"]]
