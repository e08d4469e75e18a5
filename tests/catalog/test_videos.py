"""The videos API: create, read, edit, delete, status, thumbnails, a channel's list; who may do
what (404 where existence must not leak, 403 where the video is visible but not theirs)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from catalog.access import Role
from catalog.videos import Privacy, Status, Videos
from tests.support.videos import cursor_of, ids_of, internal_id, publish, upload


@pytest.fixture
async def people(api):
    owner, stranger, admin = await api.register(creator=True), await api.register(), await api.register()
    await api.set_role(admin, Role.ADMIN)
    return owner, stranger, admin


async def test_create_records_metadata_as_uploading(api, people):
    owner, stranger, _ = people
    body = {"title": "Making of", "description": "Line one\nLine two", "tags": ["behind", "scenes"],
            "category": "film", "language": "en-GB"}
    got = await api.call("POST", "/videos", json=body, account=owner)
    assert got.status == 201, got.body
    video = got.body
    assert {k: video[k] for k in body} == body
    assert (video["status"], video["privacy"], video["channel"]) == ("uploading", "private", owner.channel)
    assert video["view_count"] == video["like_count"] == 0 and video["published_at"] is None
    assert (await api.call("GET", f"/videos/{video['id']}", account=owner)).body == video

    assert (await api.call("POST", "/videos", json=body)).status == 401
    assert (await api.call("POST", "/videos", json=body, account=stranger)).status == 403
    for bad in ({"title": ""}, {"title": "x" * 201}, {"title": "t", "tags": ["x"] * 31},
                {"title": "t", "language": "english!"}, {"title": "t", "privacy": "secret"},
                {"title": "t", "tags": ["a\nb"]}, {"title": "t\x07"}):
        got = await api.call("POST", "/videos", json=bad, account=owner)
        assert got.status == 422, bad


async def test_admin_without_channel_cannot_create(api, people):
    _, _, admin = people
    got = await api.call("POST", "/videos", json={"title": "t"}, account=admin)
    assert got.status == 403 and "channel" in got.body["detail"]


async def test_who_sees_a_video(api, people):
    owner, stranger, admin = people
    ids = {privacy: await publish(api, owner, f"{privacy.value} one", privacy=privacy) for privacy in Privacy}
    ids["uploading"] = await upload(api, owner, "still uploading", privacy="public")
    expected = {  # video → (anonymous, stranger, owner, admin)
        Privacy.PUBLIC: (200, 200, 200, 200),
        Privacy.UNLISTED: (200, 200, 200, 200),
        Privacy.PRIVATE: (404, 404, 200, 200),
        "uploading": (404, 404, 200, 200),
    }
    for video, statuses in expected.items():
        for path in (f"/videos/{ids[video]}", f"/videos/{ids[video]}/status"):
            got = [(await api.call("GET", path, account=a)).status for a in (None, stranger, owner, admin)]
            assert tuple(got) == statuses, (video, path)
    hidden = await api.call("GET", f"/videos/{ids[Privacy.PRIVATE]}", account=stranger)
    missing = await api.call("GET", "/videos/AAAAAAAAAAA", account=stranger)
    assert hidden.body == missing.body == {"error": "not_found", "detail": "video not found"}


async def test_edit_and_delete_permissions(api, people):
    owner, stranger, admin = people
    public = await publish(api, owner, "Original")
    private = await publish(api, owner, "Hidden", privacy=Privacy.PRIVATE)
    change = {"title": "Changed"}
    for method, body in (("PATCH", change), ("DELETE", None)):
        assert (await api.call(method, f"/videos/{public}", json=body)).status == 401
        assert (await api.call(method, f"/videos/{public}", json=body, account=stranger)).status == 403
        assert (await api.call(method, f"/videos/{private}", json=body, account=stranger)).status == 404
    assert (await api.call("GET", f"/videos/{public}")).body["title"] == "Original"

    got = await api.call("PATCH", f"/videos/{public}", account=owner,
                         json={"tags": ["a", "b"], "category": "music", "language": "pt-BR",
                               "privacy": "unlisted", "description": None})
    assert got.status == 200, got.body
    assert (got.body["tags"], got.body["category"], got.body["language"], got.body["privacy"]) == (
        ["a", "b"], "music", "pt-BR", "unlisted")
    assert got.body["title"] == "Original"  # fields left out (or null) keep their value
    assert got.body["updated_at"] > got.body["created_at"]
    by_admin = await api.call("PATCH", f"/videos/{private}", json=change, account=admin)
    assert by_admin.status == 200 and by_admin.body["title"] == "Changed"

    assert (await api.call("DELETE", f"/videos/{public}", account=owner)).status == 204
    assert (await api.call("GET", f"/videos/{public}", account=owner)).status == 404
    assert (await api.call("DELETE", f"/videos/{public}", account=owner)).status == 404
    assert (await api.call("DELETE", f"/videos/{private}", account=admin)).status == 204


async def test_thumbnail_choice(api, people):
    owner, stranger, _ = people
    video = await publish(api, owner, "With thumbnails")
    pool = api.node.node.pool
    vid = await internal_id(api, video)
    made = [await pool.fetchval(
        """INSERT INTO thumbnails (video_id, kind, path, width, height, chosen)
           VALUES ($1, $2, $3, 1280, 720, $4) RETURNING id""", vid, kind, f"t{n}.jpg", n == 0)
        for n, kind in enumerate(("thumbnail", "thumbnail", "storyboard"))]
    listed = await api.call("GET", f"/videos/{video}/thumbnails", account=owner)
    assert [(t["id"], t["chosen"]) for t in listed.body] == list(zip(made, (True, False, False), strict=True))
    assert (await api.call("GET", f"/videos/{video}/thumbnails", account=stranger)).status == 403

    got = await api.call("PATCH", f"/videos/{video}", json={"thumbnail_id": made[1]}, account=owner)
    assert got.status == 200
    listed = await api.call("GET", f"/videos/{video}/thumbnails", account=owner)
    assert [t["chosen"] for t in listed.body] == [False, True, False]

    # A storyboard, or another video's thumbnail, cannot be chosen; nothing of the edit is kept.
    other = await internal_id(api, await publish(api, owner))
    foreign = await pool.fetchval("INSERT INTO thumbnails (video_id, kind, path, width, height)"
                                  " VALUES ($1, 'thumbnail', 'x.jpg', 1, 1) RETURNING id", other)
    for thumbnail_id in (made[2], foreign, 2**62):
        got = await api.call("PATCH", f"/videos/{video}", account=owner,
                             json={"title": "Not kept", "thumbnail_id": thumbnail_id})
        assert got.status == 422 and got.body["detail"][0]["loc"] == ["thumbnail_id"], got.body
    assert (await api.call("GET", f"/videos/{video}")).body["title"] == "With thumbnails"
    listed = await api.call("GET", f"/videos/{video}/thumbnails", account=owner)
    assert [t["chosen"] for t in listed.body] == [False, True, False]

    # Concurrent choices leave exactly one chosen.
    answers = await asyncio.gather(*[
        api.call("PATCH", f"/videos/{video}", json={"thumbnail_id": made[n % 2]}, account=owner)
        for n in range(10)])
    assert {a.status for a in answers} == {200}
    assert await pool.fetchval("SELECT count(*) FROM thumbnails WHERE video_id = $1 AND chosen", vid) == 1


async def test_status_reports_progress_eta_and_failure(api, people):
    owner, stranger, _ = people
    video = await upload(api, owner, "Encoding", privacy="public")
    videos = Videos(api.node.node.pool)
    vid = await internal_id(api, video)
    eta = datetime.now(UTC) + timedelta(minutes=3)
    await videos.set_status(vid, Status.PROCESSING, progress_percent=40, eta=eta)
    got = (await api.call("GET", f"/videos/{video}/status", account=owner)).body
    assert (got["status"], got["progress_percent"], got["failure_reason"]) == ("processing", 40, None)
    assert datetime.fromisoformat(got["eta"]) == eta
    assert (await api.call("GET", f"/videos/{video}/status", account=stranger)).status == 404

    await videos.set_status(vid, Status.FAILED, progress_percent=40, failure_reason="unsupported codec: vp6")
    got = (await api.call("GET", f"/videos/{video}/status", account=owner)).body
    assert (got["status"], got["failure_reason"], got["eta"]) == ("failed", "unsupported codec: vp6", None)

    await videos.set_status(vid, Status.READY, duration_seconds=12.5)
    got = await api.call("GET", f"/videos/{video}/status", account=stranger)
    assert (got.body["status"], got.body["progress_percent"], got.body["eta"]) == ("ready", 100, None)
    assert (await api.call("GET", f"/videos/{video}")).body["duration_seconds"] == 12.5


async def test_published_at_is_set_once_when_first_watchable_by_others(api, people):
    owner, _, _ = people
    video = await publish(api, owner, "Secret", privacy=Privacy.PRIVATE)
    assert (await api.call("GET", f"/videos/{video}", account=owner)).body["published_at"] is None
    first = (await api.call("PATCH", f"/videos/{video}", json={"privacy": "unlisted"}, account=owner)).body
    assert first["published_at"] is not None
    await api.call("PATCH", f"/videos/{video}", json={"privacy": "private"}, account=owner)
    again = (await api.call("PATCH", f"/videos/{video}", json={"privacy": "public"}, account=owner)).body
    assert again["published_at"] == first["published_at"]


async def test_channel_list_shows_each_caller_what_they_may_see(api, people):
    owner, stranger, admin = people
    old = await publish(api, owner, "Old public", age=timedelta(days=3))
    new = await publish(api, owner, "New public", age=timedelta(hours=1))
    unlisted = await publish(api, owner, "Unlisted", privacy=Privacy.UNLISTED)
    private = await publish(api, owner, "Private", privacy=Privacy.PRIVATE)
    uploading = await upload(api, owner, "Uploading", privacy="public")
    path = f"/channels/{owner.channel}/videos"
    for account in (None, stranger):
        assert await ids_of(api, path, account, limit="1") == [new, old]
    everything = [uploading, private, unlisted, new, old]  # by upload, newest first
    assert await ids_of(api, path, owner, limit="2") == everything
    assert await ids_of(api, path, admin, limit="3") == everything
    assert (await api.call("GET", "/channels/nobody_here/videos")).status == 404
    page = await api.call("GET", path, account=owner, params={"limit": "5"})
    assert page.body["items"][0]["status"] == "uploading" and page.body["next_cursor"] is None


async def test_latest_lists_every_channels_listed_videos_newest_first(api, people):
    """GET /videos: public, ready videos of every channel by publication, to anyone; never
    unlisted, private or unfinished ones (other tests' videos may be listed among them)."""
    owner, stranger, _ = people
    other = await api.register(creator=True)
    old = await publish(api, owner, "Old", age=timedelta(days=3))
    middle = await publish(api, other, "Other channel", age=timedelta(days=2))
    hidden = {await publish(api, owner, "Unlisted", privacy=Privacy.UNLISTED),
              await publish(api, owner, "Private", privacy=Privacy.PRIVATE),
              await upload(api, owner, "Uploading", privacy="public")}
    new = await publish(api, owner, "New", age=timedelta(days=1))
    for account in (None, stranger, owner):
        listed = await ids_of(api, "/videos", account, limit="7")
        assert [v for v in listed if v in {old, middle, new}] == [new, middle, old]
        assert not hidden & set(listed)
    card = (await api.call("GET", "/videos", params={"limit": "100"})).body["items"]
    assert {"id", "title", "channel", "duration_seconds", "view_count", "published_at"} <= set(card[0])
    got = await api.call("GET", "/videos", params={"cursor": cursor_of(["x", 1])})
    assert (got.status, got.body["error"]) == (400, "invalid_cursor")


@pytest.mark.parametrize("key", [[1, 2], ["2026-01-01T00:00:00", 1], ["x", 1],
                                 ["2026-01-01T00:00:00Z", 0], ["2026-01-01T00:00:00Z", 2**63], "AAAA"])
async def test_forged_channel_list_cursors(api, people, key):
    """A naive date, a wrong type, an id out of range: none is a cursor the list hands out."""
    got = await api.call("GET", f"/channels/{people[0].channel}/videos", params={"cursor": cursor_of(key)})
    assert (got.status, got.body["error"]) == (400, "invalid_cursor"), got.body
