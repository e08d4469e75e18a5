"""Watch history and resume positions: upserts, the finished rule, privacy, and deletion."""

from __future__ import annotations

import pytest

from catalog import video_listings
from catalog.videos import Privacy
from tests.support.social import make_video, set_privacy, walk


async def report(api, account, video, position, **fields):
    return await api.call("PUT", f"/me/history/{video}", account=account,
                          json={"position_seconds": position, **fields})


@pytest.fixture
async def world(api):
    owner, viewer = await api.register(creator=True), await api.register()
    return owner, viewer, [await make_video(api, owner, f"v{i}", duration=100.0) for i in range(3)]


async def test_resume_position_and_finished(api, world):
    _, viewer, (video, other, _) = world
    assert (await api.call("GET", f"/me/history/{video}", account=viewer)).status == 404
    first = await report(api, viewer, video, 30)
    assert first.status == 200 and first.body["position_seconds"] == 30
    assert first.body["finished"] is False
    later = await report(api, viewer, video, 42.5)
    assert later.body["watched_at"] >= first.body["watched_at"]
    resume = await api.call("GET", f"/me/history/{video}", account=viewer)
    assert (resume.body["position_seconds"], resume.body["finished"]) == (42.5, False)

    near_end = await report(api, viewer, video, 95)  # 95 % of 100 s
    assert near_end.body["finished"] is True
    rewatch = await report(api, viewer, video, 10)  # finished stays; the position follows
    assert (rewatch.body["position_seconds"], rewatch.body["finished"]) == (10, True)
    told = await report(api, viewer, other, 20, finished=True)  # the player says so
    assert told.body["finished"] is True
    clamped = await report(api, viewer, other, 5000)
    assert clamped.body["position_seconds"] == 100


async def test_history_list_and_deletion(api, world):
    owner, viewer, videos = world
    for video in videos:
        await report(api, viewer, video, 1)
    await report(api, viewer, videos[0], 2)  # watched again: back on top
    listed = await walk(api, "/me/history", viewer, limit="2")
    assert [item["video"]["id"] for item in listed] == [videos[0], videos[2], videos[1]]
    assert listed[0]["position_seconds"] == 2 and listed[0]["video"]["channel"] == owner.channel

    # Private to the user.
    stranger = await api.register()
    assert (await api.call("GET", "/me/history", account=stranger)).body["items"] == []
    assert (await api.call("GET", f"/me/history/{videos[0]}", account=stranger)).status == 404
    assert (await api.call("GET", "/me/history")).status == 401

    # A video that turns private leaves the list but can still be removed from it.
    await set_privacy(api, videos[2], Privacy.PRIVATE)
    listed = await walk(api, "/me/history", viewer)
    assert [item["video"]["id"] for item in listed] == [videos[0], videos[1]]
    assert (await api.call("DELETE", f"/me/history/{videos[2]}", account=viewer)).status == 204
    assert (await api.call("DELETE", f"/me/history/{videos[2]}", account=viewer)).status == 404
    assert (await api.call("DELETE", "/me/history/AAAAAAAAAAA", account=viewer)).status == 404

    assert (await api.call("DELETE", "/me/history", account=viewer)).status == 204
    assert (await api.call("GET", "/me/history", account=viewer)).body["items"] == []


async def test_invisible_videos_are_404(api, world):
    owner, viewer, _ = world
    private = await make_video(api, owner, privacy=Privacy.PRIVATE)
    assert (await report(api, viewer, private, 1)).status == 404
    assert (await report(api, owner, private, 1)).status == 200  # the owner watches their own
    assert (await api.call("GET", f"/me/history/{private}", account=viewer)).status == 404


@pytest.mark.parametrize("budget", [None, (10, 2)])
async def test_skipping_many_invisible_entries(api, world, monkeypatch, budget):
    """A long run of videos the caller may no longer watch is skipped; past a request's scan
    budget (batch size, batches) pages come back short, and following them still ends right."""
    if budget:
        monkeypatch.setattr(video_listings, "SCAN_BATCH", budget[0])
        monkeypatch.setattr(video_listings, "MAX_SCAN_BATCHES", budget[1])
    owner, viewer, (visible, *_) = world
    await report(api, viewer, visible, 1)
    hidden = [await make_video(api, owner, f"h{i}") for i in range(120)]
    for video in hidden:
        await report(api, viewer, video, 1)
    await api.node.node.pool.execute(
        "UPDATE videos SET privacy = 'private' WHERE public_id = ANY($1::text[])", hidden)
    listed = await walk(api, "/me/history", viewer, limit="5")
    assert [item["video"]["id"] for item in listed] == [visible]


async def test_bad_positions(api, world):
    _, viewer, (video, *_) = world
    for body in ({"position_seconds": -1}, {"position_seconds": 1e8}, {"position_seconds": "5"},
                 {"position_seconds": None}, {"position_seconds": True}, {},
                 {"position_seconds": 1, "finished": "yes"}, {"position_seconds": 1, "extra": 1}):
        got = await api.call("PUT", f"/me/history/{video}", json=body, account=viewer)
        assert got.status == 422, body
    assert (await api.call("GET", f"/me/history/{video}", account=viewer)).status == 404
    for bad in ("short", "A" * 12, "AAAAAAAAAA!"):
        assert (await report(api, viewer, bad, 1)).status in (404, 422), bad
