"""Playlists and watch later: privacy like videos', ownership, items without duplicates, and an
order that stays consistent under concurrent appends and moves."""

from __future__ import annotations

import asyncio

import pytest

from catalog.playlists import GAP, between
from catalog.videos import Privacy
from tests.support.social import make_video, set_privacy, walk


async def create(api, account, title="mix", **fields):
    got = await api.call("POST", "/playlists", json={"title": title, **fields}, account=account)
    assert got.status == 201, got.body
    return got.body


async def add(api, account, playlist, video):
    return await api.call("POST", f"/playlists/{playlist}/items", json={"video_id": video},
                          account=account)


async def order(api, playlist, account=None):
    return [item["video"]["id"] for item in await walk(api, f"/playlists/{playlist}/items", account)]


async def move(api, account, playlist, video, after):
    return await api.call("PATCH", f"/playlists/{playlist}/items/{video}", json={"after": after},
                          account=account)


@pytest.fixture
async def world(api):
    owner, stranger = await api.register(creator=True), await api.register()
    return owner, stranger, [await make_video(api, owner, f"v{i}") for i in range(5)]


async def test_create_rename_delete_and_privacy(api, world):
    owner, stranger, _ = world
    private = await create(api, owner, "secret")
    assert (private["privacy"], private["kind"], private["owner"]) == ("private", "regular", owner.username)
    unlisted = await create(api, owner, "by link", privacy="unlisted")
    public = await create(api, owner, "for all", privacy="public", description="best of")

    unknown = await api.call("GET", "/playlists/AAAAAAAAAAAAAAAA", account=stranger)
    for playlist, status in ((private, 404), (unlisted, 200), (public, 200)):
        got = await api.call("GET", f"/playlists/{playlist['id']}", account=stranger)
        assert got.status == status
        if status == 404:
            assert got.body == unknown.body  # existence does not leak
    channel_lists = await walk(api, f"/channels/{owner.channel}/playlists")
    assert [p["id"] for p in channel_lists] == [public["id"]]  # only public ones are listed
    mine = await walk(api, "/me/playlists", owner, limit="2")
    assert [p["id"] for p in mine] == [public["id"], unlisted["id"], private["id"]]

    renamed = await api.call("PATCH", f"/playlists/{private['id']}", account=owner,
                             json={"title": "now public", "privacy": "public"})
    assert renamed.status == 200 and renamed.body["title"] == "now public"
    assert renamed.body["description"] == ""
    assert (await api.call("GET", f"/playlists/{private['id']}", account=stranger)).status == 200
    # Visible but not theirs: 403; invisible: 404; anonymous: 401.
    got = await api.call("PATCH", f"/playlists/{public['id']}", json={"title": "x"}, account=stranger)
    assert got.status == 403
    assert (await api.call("DELETE", f"/playlists/{public['id']}", account=stranger)).status == 403
    await api.call("PATCH", f"/playlists/{unlisted['id']}", json={"privacy": "private"}, account=owner)
    assert (await api.call("DELETE", f"/playlists/{unlisted['id']}", account=stranger)).status == 404
    assert (await api.call("POST", "/playlists", json={"title": "x"})).status == 401

    assert (await api.call("DELETE", f"/playlists/{public['id']}", account=owner)).status == 204
    assert (await api.call("GET", f"/playlists/{public['id']}", account=owner)).status == 404


async def test_watch_later(api, world):
    owner, stranger, videos = world
    assert (await api.call("GET", "/playlists/WL")).status == 401
    first = await api.call("GET", "/playlists/WL", account=stranger)
    assert first.status == 200 and first.body["kind"] == "watch_later"
    assert first.body["privacy"] == "private" and first.body["item_count"] == 0
    concurrent = await asyncio.gather(*[api.call("GET", "/playlists/WL", account=owner) for _ in range(5)])
    assert len({got.body["id"] for got in concurrent}) == 1  # made once, on first use

    assert (await add(api, stranger, "WL", videos[0])).status == 204
    assert await order(api, "WL", stranger) == [videos[0]]
    wl_id = first.body["id"]
    assert await order(api, wl_id, stranger) == [videos[0]]  # its own id works for its owner
    assert (await api.call("GET", f"/playlists/{wl_id}", account=owner)).status == 404
    assert (await api.call("GET", f"/playlists/{wl_id}/items")).status == 404
    for method, body in (("PATCH", {"title": "renamed"}), ("PATCH", {"privacy": "public"}),
                         ("DELETE", None)):
        got = await api.call(method, "/playlists/WL", json=body, account=stranger)
        assert (got.status, got.body["error"]) == (409, "system_playlist")
    mine = await walk(api, "/me/playlists", stranger)
    assert [(p["kind"], p["item_count"]) for p in mine] == [("watch_later", 1)]


async def test_items(api, world):
    owner, stranger, videos = world
    playlist = (await create(api, owner, privacy="public"))["id"]
    for video in videos[:3]:
        assert (await add(api, owner, playlist, video)).status == 204
    again = await add(api, owner, playlist, videos[0])
    assert (again.status, again.body["error"]) == (409, "already_in_playlist")
    assert await order(api, playlist) == videos[:3]
    assert (await add(api, stranger, playlist, videos[3])).status == 403

    private = await make_video(api, owner, privacy=Privacy.PRIVATE)
    foreign = await make_video(api, await api.register(creator=True), privacy=Privacy.PRIVATE)
    assert (await add(api, owner, playlist, foreign)).status == 404  # may not watch it
    assert (await add(api, owner, playlist, "AAAAAAAAAAA")).status == 404
    assert (await add(api, owner, playlist, private)).status == 204  # own private video
    # Each reader sees what they may watch; item_count counts everything.
    assert await order(api, playlist, owner) == [*videos[:3], private]
    assert await order(api, playlist, stranger) == videos[:3]
    await set_privacy(api, videos[1], Privacy.PRIVATE)
    assert await order(api, playlist, stranger) == [videos[0], videos[2]]
    info = await api.call("GET", f"/playlists/{playlist}", account=stranger)
    assert info.body["item_count"] == 4

    assert (await api.call("DELETE", f"/playlists/{playlist}/items/{videos[1]}", account=owner)).status == 204
    assert (await api.call("DELETE", f"/playlists/{playlist}/items/{videos[1]}", account=owner)).status == 404
    assert await order(api, playlist, owner) == [videos[0], videos[2], private]


async def test_reorder(api, world):
    owner, stranger, videos = world
    playlist = (await create(api, owner))["id"]
    for video in videos:
        await add(api, owner, playlist, video)
    a, b, c, d, e = videos
    assert (await move(api, owner, playlist, e, None)).status == 204  # to the top
    assert (await move(api, owner, playlist, a, c)).status == 204  # after c
    assert (await move(api, owner, playlist, b, b)).status == 204  # after itself: no change
    assert await order(api, playlist, owner) == [e, b, c, a, d]
    got = await move(api, owner, playlist, a, await make_video(api, owner))
    assert (got.status, got.body["error"]) == (409, "not_in_playlist")
    assert (await move(api, owner, playlist, await make_video(api, owner), a)).status == 404
    assert (await move(api, stranger, playlist, a, None)).status == 404  # private playlist

    # Moving into the same gap again and again runs out of room and renumbers.
    for _ in range(40):
        await move(api, owner, playlist, d, e)
        await move(api, owner, playlist, b, e)
    assert await order(api, playlist, owner) == [e, b, d, c, a]
    positions = await api.node.node.pool.fetch(
        "SELECT position FROM playlist_items i JOIN playlists p ON p.id = i.playlist_id "
        "WHERE p.public_id = $1 ORDER BY position", playlist)
    assert len({r["position"] for r in positions}) == 5 and positions[0]["position"] >= 1


async def test_concurrent_appends_and_moves(api, world):
    owner, _, _ = world
    playlist = (await create(api, owner))["id"]
    videos = [await make_video(api, owner, f"c{i}") for i in range(30)]
    results = await asyncio.gather(*[add(api, owner, playlist, v) for v in videos],
                                   *[add(api, owner, playlist, videos[0]) for _ in range(5)])
    assert sorted(r.status for r in results) == [204] * 30 + [409] * 5  # no duplicates
    # Many clients move items to the top at once: the result is still a permutation.
    await asyncio.gather(*[move(api, owner, playlist, v, None) for v in videos[::3]])
    listed = await order(api, playlist, owner)
    assert sorted(listed) == sorted(videos)
    assert set(listed[:10]) == set(videos[::3])


def test_between():
    assert between(None, None) == GAP
    assert between(GAP, None) == 2 * GAP
    assert between(None, 2) == 1 and between(None, 1) is None
    assert between(4, 8) == 6 and between(4, 5) is None


async def test_bad_input(api, world):
    owner, _, (video, *_) = world
    playlist = (await create(api, owner))["id"]
    await add(api, owner, playlist, video)
    for ref in ("wl", "WLX", "A" * 15, "A" * 17, "AAAAAAAAAAAAAAA!", "' OR 1=1 --"):
        assert (await api.call("GET", f"/playlists/{ref}", account=owner)).status == 422, ref
    for body in ({"title": ""}, {"title": "x" * 151}, {"title": "a\nb"}, {"title": "t", "privacy": "secret"},
                 {"title": "t", "description": "x" * 5001}, {"title": "t", "kind": "watch_later"}):
        assert (await api.call("POST", "/playlists", json=body, account=owner)).status == 422, body
    for body in ({}, {"after": 5}, {"after": "short"}, {"after": None, "x": 1}):
        got = await api.call("PATCH", f"/playlists/{playlist}/items/{video}", json=body, account=owner)
        assert got.status == 422, body
    got = await api.call("PATCH", f"/playlists/{playlist}", json={"privacy": None, "title": "ok"},
                         account=owner)
    assert got.status == 200 and got.body["privacy"] == "private"
