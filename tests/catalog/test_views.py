"""Views count once per viewer per video per hour, after the viewer watched long enough."""

from __future__ import annotations

import asyncio

import pytest

from catalog.video_views import MIN_WATCHED_SECONDS
from catalog.videos import Privacy
from tests.support.videos import internal_id, publish, upload


async def report(api, video, seconds, *, account=None, session=None, headers=None):
    body = {"watched_seconds": seconds, **({"session_id": session} if session else {})}
    return await api.call("POST", f"/videos/{video}/views", json=body, account=account, headers=headers)


async def counted(api, video, **who) -> bool:
    got = await report(api, video, MIN_WATCHED_SECONDS, **who)
    assert got.status == 200, got.body
    return got.body["counted"]


async def view_count(api, video) -> int:
    return (await api.call("GET", f"/videos/{video}")).body["view_count"]


async def test_threshold_and_hourly_dedupe(api):
    owner, viewer = await api.register(creator=True), await api.register()
    video = await publish(api, owner, duration=600)
    # Opening the page, or watching less than the threshold, records nothing.
    for seconds in (0, MIN_WATCHED_SECONDS - 0.5):
        got = await report(api, video, seconds, account=viewer)
        assert (got.status, got.body) == (200, {"counted": False})
    pool = api.node.node.pool
    vid = await internal_id(api, video)
    assert await pool.fetchval("SELECT count(*) FROM video_views WHERE video_id = $1", vid) == 0
    assert await view_count(api, video) == 0

    assert await counted(api, video, account=viewer)
    assert not await counted(api, video, account=viewer)  # same viewer, same hour
    assert await view_count(api, video) == 1

    # An hour later (the bucket moved back in time): counted again, and both rows kept.
    await pool.execute("UPDATE video_views SET hour = hour - interval '1 hour' WHERE video_id = $1", vid)
    assert await counted(api, video, account=viewer)
    assert await view_count(api, video) == 2
    assert await pool.fetchval("SELECT count(*) FROM video_views WHERE video_id = $1", vid) == 2


async def test_viewer_identity_account_then_session_then_address(api):
    owner, viewer = await api.register(creator=True), await api.register()
    video = await publish(api, owner)
    # Anonymous without a session id: the address (every test client is 127.0.0.1).
    assert await counted(api, video)
    assert not await counted(api, video)
    # Session ids tell anonymous viewers behind one address apart.
    assert await counted(api, video, session="a" * 16)
    assert not await counted(api, video, session="a" * 16)
    assert await counted(api, video, session="b" * 16)
    # An account is the viewer whatever session id it sends.
    assert await counted(api, video, account=viewer, session="a" * 16)
    assert not await counted(api, video, account=viewer, session="c" * 16)
    assert await view_count(api, video) == 4


async def test_short_videos_count_once_watched_through(api):
    owner = await api.register(creator=True)
    video = await publish(api, owner, duration=4)
    assert not (await report(api, video, 3.9)).body["counted"]
    assert (await report(api, video, 4)).body["counted"]


async def test_concurrent_reports_of_one_viewer_count_once(api):
    owner, viewer = await api.register(creator=True), await api.register()
    video = await publish(api, owner)
    answers = await asyncio.gather(*[report(api, video, 30, account=viewer) for _ in range(20)])
    assert sorted(a.body["counted"] for a in answers) == [False] * 19 + [True]
    others = await asyncio.gather(*[api.register() for _ in range(20)])
    answers = await asyncio.gather(*[report(api, video, 30, account=a) for a in others])
    assert all(a.body["counted"] for a in answers)
    assert await view_count(api, video) == 21


async def test_who_may_report(api):
    owner, stranger = await api.register(creator=True), await api.register()
    private = await publish(api, owner, privacy=Privacy.PRIVATE)
    unlisted = await publish(api, owner, privacy=Privacy.UNLISTED)
    uploading = await upload(api, owner)
    assert (await report(api, private, 30, account=stranger)).status == 404
    assert (await report(api, private, 30)).status == 404
    assert await counted(api, unlisted, account=stranger)
    assert await counted(api, private, account=owner)
    got = await report(api, uploading, 30, account=owner)
    assert (got.status, got.body["error"]) == (409, "not_ready")


@pytest.mark.parametrize("body", [
    {"watched_seconds": -1}, {"watched_seconds": "12"}, {"watched_seconds": True},
    {"watched_seconds": None}, {"watched_seconds": 1e300}, {}, {"watched_seconds": [12]},
    {"watched_seconds": 12, "session_id": "short"}, {"watched_seconds": 12, "session_id": "x" * 129},
    {"watched_seconds": 12, "session_id": "has space in it!"}, {"watched_seconds": 12, "viewer": "me"},
])
async def test_bad_reports(api, body):
    owner = await api.register(creator=True)
    video = await publish(api, owner)
    got = await api.call("POST", f"/videos/{video}/views", json=body)
    assert got.status == 422, got.body
    assert await view_count(api, video) == 0
