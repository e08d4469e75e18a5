"""Roles and ownership: creators touch only their own things; 404 where existence must not leak."""

from __future__ import annotations

from catalog.access import Role


async def new_stream(api, account, name_prefix: str = "s") -> tuple[str, int]:
    name = f"{name_prefix}{account.username[1:]}"
    got = await api.call("POST", "/live-streams", json={"name": name, "title": "T"}, account=account)
    assert got.status == 201, got.body
    return name, got.body["key"]["id"]


async def test_channel_is_public_but_only_its_owner_edits_it(api):
    alice, bob = await api.register(creator=True), await api.register(creator=True)
    got = await api.call("GET", f"/channels/{alice.channel}")
    assert got.status == 200 and got.body["handle"] == alice.channel

    change = {"title": "Bob was here"}
    assert (await api.call("PATCH", f"/channels/{alice.channel}", json=change)).status == 401
    denied = await api.call("PATCH", f"/channels/{alice.channel}", json=change, account=bob)
    assert denied.status == 403 and denied.body["error"] == "forbidden"
    assert (await api.call("GET", f"/channels/{alice.channel}")).body["title"] != "Bob was here"

    own = await api.call("PATCH", f"/channels/{alice.channel}", account=alice,
                         json={"description": "Line one\nLine two\twith a tab"})
    assert own.status == 200 and own.body["description"] == "Line one\nLine two\twith a tab"
    assert own.body["title"] == got.body["title"]  # fields left out keep their value
    # Handles are case-insensitive.
    assert (await api.call("GET", f"/channels/{alice.channel.upper()}")).status == 200
    assert (await api.call("GET", "/channels/nobody_here")).status == 404


async def test_streams_of_others_are_404_not_403(api):
    alice, bob = await api.register(creator=True), await api.register(creator=True)
    name, key_id = await new_stream(api, alice)
    for method, path, body in (
        ("GET", f"/live-streams/{name}/keys", None),
        ("POST", f"/live-streams/{name}/keys", {"label": "backup"}),
        ("POST", f"/live-streams/{name}/keys/{key_id}/rotate", None),
        ("DELETE", f"/live-streams/{name}/keys/{key_id}", None),
    ):
        theirs = await api.call(method, path, json=body, account=bob)
        missing = await api.call(method, path.replace(name, "no-such-stream"), json=body, account=bob)
        assert theirs.status == missing.status == 404, (method, path, theirs.body)
        assert theirs.body == missing.body
        assert (await api.call(method, path, json=body)).status == 401
    # Bob's own list does not show Alice's stream; Alice's key still works (nothing changed).
    assert (await api.call("GET", "/live-streams", account=bob)).body["items"] == []
    keys = await api.call("GET", f"/live-streams/{name}/keys", account=alice)
    assert [k["id"] for k in keys.body] == [key_id]


async def test_viewers_cannot_create_streams(api):
    viewer = await api.register()
    got = await api.call("POST", "/live-streams", json={"name": "viewer-stream"}, account=viewer)
    assert got.status == 403 and got.body["error"] == "forbidden"
    assert (await api.call("GET", "/live-streams", account=viewer)).status == 403


async def test_admin_manages_any_channel_and_stream(api):
    alice, admin = await api.register(creator=True), await api.register()
    name, key_id = await new_stream(api, alice)
    await api.set_role(admin, Role.ADMIN)
    got = await api.call("PATCH", f"/channels/{alice.channel}", json={"title": "Moderated"}, account=admin)
    assert got.status == 200 and got.body["title"] == "Moderated"
    assert (await api.call("GET", f"/live-streams/{name}/keys", account=admin)).status == 200
    # Streams made on the command line belong to no channel: only admins manage them.
    cli = await api.node.new_stream()
    assert (await api.call("GET", f"/live-streams/{cli[0]}/keys", account=admin)).status == 200
    assert (await api.call("GET", f"/live-streams/{cli[0]}/keys", account=alice)).status == 404


async def test_moderator_is_not_an_owner(api):
    alice, moderator = await api.register(creator=True), await api.register()
    await api.set_role(moderator, Role.MODERATOR)
    got = await api.call("PATCH", f"/channels/{alice.channel}", json={"title": "x"}, account=moderator)
    assert got.status == 403
