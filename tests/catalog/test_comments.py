"""Comments through the API: threads, replies, edits, soft delete, pins, likes, moderation, and
the video's visibility rule on all of it."""

from __future__ import annotations

import asyncio

import pytest

from catalog.access import Role
from catalog.videos import Privacy, Status
from tests.support.social import make_video, walk
from tests.support.videos import cursor_of


@pytest.fixture
async def world(api):
    """A creator's public video, a viewer and a stranger."""
    owner, viewer, stranger = (await api.register(creator=True), await api.register(),
                               await api.register())
    return owner, viewer, stranger, await make_video(api, owner)


async def post(api, video, account, text="hello", **fields):
    got = await api.call("POST", f"/videos/{video}/comments", json={"text": text, **fields},
                         account=account)
    assert got.status == 201, got.body
    return got.body


async def reply(api, comment_id, account, text="a reply"):
    got = await api.call("POST", f"/comments/{comment_id}/replies", json={"text": text},
                         account=account)
    assert got.status == 201, got.body
    return got.body


async def threads(api, video, account=None, **params):
    got = await api.call("GET", f"/videos/{video}/comments", account=account, params=params or None)
    assert got.status == 200, got.body
    return got.body


async def comment_count(api, video) -> int:
    return await api.node.node.pool.fetchval(
        "SELECT comment_count FROM videos WHERE public_id = $1", video)


async def test_threads_replies_and_pagination(api, world):
    owner, viewer, _, video = world
    first = await post(api, video, viewer, "first", timestamp_seconds=12.5)
    assert first["author"]["username"] == viewer.username and first["timestamp_seconds"] == 12.5
    assert first["state"] == "visible" and first["thread_id"] is None
    others = [await post(api, video, owner, f"c{i}") for i in range(4)]
    answer = await reply(api, first["id"], owner)
    deeper = await reply(api, answer["id"], viewer, "answering the answer")
    # A reply to a reply joins the same thread and remembers what it answers.
    assert (answer["thread_id"], answer["reply_to_id"]) == (first["id"], first["id"])
    assert (deeper["thread_id"], deeper["reply_to_id"]) == (first["id"], answer["id"])

    listed = await walk(api, f"/videos/{video}/comments", limit="2")
    assert [c["id"] for c in listed] == [c["id"] for c in reversed([first, *others])]
    assert listed[-1]["reply_count"] == 2
    replies = await walk(api, f"/comments/{first['id']}/replies", limit="1")
    assert [r["id"] for r in replies] == [answer["id"], deeper["id"]]  # oldest first
    assert await comment_count(api, video) == 7
    # Replies belong to threads: a reply has no replies of its own to list.
    assert (await api.call("GET", f"/comments/{answer['id']}/replies")).status == 404
    single = await api.call("GET", f"/comments/{deeper['id']}")
    assert single.body["text"] == "answering the answer"


async def test_top_sort_and_likes(api, world):
    owner, viewer, stranger, video = world
    a, b, c = [await post(api, video, viewer, text) for text in "abc"]
    for account in (owner, stranger):
        assert (await api.call("PUT", f"/comments/{b['id']}/like", account=account)).status == 200
    again = await api.call("PUT", f"/comments/{b['id']}/like", account=owner)
    assert again.body == {"liked": True, "like_count": 2}  # once per user
    await api.call("PUT", f"/comments/{a['id']}/like", account=owner)
    top = await threads(api, video, owner, sort="top")
    assert [x["id"] for x in top["items"]] == [b["id"], a["id"], c["id"]]
    assert [x["liked"] for x in top["items"]] == [True, True, False]
    paged = await walk(api, f"/videos/{video}/comments", sort="top", limit="1")
    assert [x["id"] for x in paged] == [b["id"], a["id"], c["id"]]
    undone = await api.call("DELETE", f"/comments/{b['id']}/like", account=owner)
    assert undone.body == {"liked": False, "like_count": 1}
    assert (await api.call("DELETE", f"/comments/{b['id']}/like", account=owner)).body["like_count"] == 1
    assert (await api.call("PUT", f"/comments/{b['id']}/like")).status == 401


async def test_edit_is_for_the_author(api, world):
    owner, viewer, _, video = world
    mine = await post(api, video, viewer, "typo")
    assert mine["edited_at"] is None
    edited = await api.call("PATCH", f"/comments/{mine['id']}", json={"text": "fixed"}, account=viewer)
    assert edited.status == 200 and edited.body["text"] == "fixed" and edited.body["edited_at"]
    theirs = await api.call("PATCH", f"/comments/{mine['id']}", json={"text": "x"}, account=owner)
    assert theirs.status == 403  # even the channel owner may not put words in a viewer's mouth
    anonymous = await api.call("PATCH", f"/comments/{mine['id']}", json={"text": "x"})
    assert anonymous.status == 401
    for text in ("", "   \n\t", "x" * 10_001, "bell\x07"):
        got = await api.call("PATCH", f"/comments/{mine['id']}", json={"text": text}, account=viewer)
        assert got.status == 422, text
    assert (await api.call("GET", f"/comments/{mine['id']}")).body["text"] == "fixed"


async def test_plain_text_round_trips(api, world):
    _, viewer, _, video = world
    text = "<script>alert('x')</script>\n' OR 1=1; -- 👩\u200d👩\u200d👧 \u202eevil & <b>"
    posted = await post(api, video, viewer, text)
    assert (await api.call("GET", f"/comments/{posted['id']}")).body["text"] == text


async def test_soft_delete_keeps_threads(api, world):
    owner, viewer, stranger, video = world
    moderator, admin = await api.register(), await api.register()
    await api.set_role(moderator, Role.MODERATOR)
    await api.set_role(admin, Role.ADMIN)
    root = await post(api, video, viewer, "root")
    kept = await reply(api, root["id"], stranger, "still here")
    lonely = await post(api, video, viewer, "nobody answered")
    assert await comment_count(api, video) == 3

    assert (await api.call("DELETE", f"/comments/{root['id']}", account=stranger)).status == 403
    assert (await api.call("DELETE", f"/comments/{root['id']}", account=viewer)).status == 204
    assert (await api.call("DELETE", f"/comments/{lonely['id']}", account=viewer)).status == 204
    assert await comment_count(api, video) == 1
    listed = (await threads(api, video))["items"]
    # The deleted root keeps its place because a live reply hangs on it; the lonely one goes.
    assert [c["id"] for c in listed] == [root["id"]]
    placeholder = listed[0]
    assert placeholder["state"] == "deleted"
    assert placeholder["text"] is None and placeholder["author"] is None
    replies = (await api.call("GET", f"/comments/{root['id']}/replies")).body["items"]
    assert [r["text"] for r in replies] == ["still here"]
    assert await api.node.node.pool.fetchval(
        "SELECT body FROM comments WHERE id = $1", root["id"]) == ""  # the text is gone

    # Gone for every action; deleting twice is a 404.
    for method, path, body in [("DELETE", "", None), ("PATCH", "", {"text": "x"}),
                               ("PUT", "/like", None), ("POST", "/replies", {"text": "x"})]:
        got = await api.call(method, f"/comments/{root['id']}{path}", json=body, account=viewer)
        assert got.status == 404, (method, path)

    # The channel owner, moderators and admins may delete anyone's comment.
    for account in (owner, moderator, admin):
        victim = await post(api, video, stranger)
        assert (await api.call("DELETE", f"/comments/{victim['id']}", account=account)).status == 204
    assert await comment_count(api, video) == 1


async def test_one_pin_per_video(api, world):
    owner, viewer, stranger, video = world
    a, b = await post(api, video, viewer, "a"), await post(api, video, stranger, "b")
    answer = await reply(api, a["id"], owner)
    assert (await api.call("PUT", f"/comments/{a['id']}/pin", account=viewer)).status == 403
    assert (await api.call("PUT", f"/comments/{a['id']}/pin", account=owner)).status == 204
    page = await threads(api, video)
    assert page["pinned"]["id"] == a["id"] and page["pinned"]["pinned"] is True
    assert [c["id"] for c in page["items"]] == [b["id"]]  # pinned apart, not repeated
    c = await post(api, video, viewer, "c")
    first_page = await threads(api, video, limit="1")
    assert first_page["pinned"]["id"] == a["id"] and first_page["items"][0]["id"] == c["id"]
    second_page = await threads(api, video, limit="1", cursor=first_page["next_cursor"])
    assert second_page["pinned"] is None and second_page["items"][0]["id"] == b["id"]

    assert (await api.call("PUT", f"/comments/{b['id']}/pin", account=owner)).status == 204
    assert (await threads(api, video))["pinned"]["id"] == b["id"]
    got = await api.call("PUT", f"/comments/{answer['id']}/pin", account=owner)
    assert (got.status, got.body["error"]) == (409, "not_pinnable")

    # Concurrent pins: exactly one wins, none fails.
    many = [await post(api, video, viewer, f"m{i}") for i in range(10)]
    results = await asyncio.gather(*[
        api.call("PUT", f"/comments/{c['id']}/pin", account=owner) for c in many])
    assert {r.status for r in results} == {204}
    assert await api.node.node.pool.fetchval(
        "SELECT count(*) FROM comments c JOIN videos v ON v.id = c.video_id "
        "WHERE v.public_id = $1 AND c.pinned_at IS NOT NULL", video) == 1

    pinned = (await threads(api, video))["pinned"]
    assert (await api.call("DELETE", f"/comments/{pinned['id']}/pin", account=viewer)).status == 403
    assert (await api.call("DELETE", f"/comments/{pinned['id']}", account=owner)).status == 204
    assert (await threads(api, video))["pinned"] is None  # deleting unpins


async def test_moderators_hide(api, world):
    _, viewer, stranger, video = world
    moderator = await api.register()
    await api.set_role(moderator, Role.MODERATOR)
    spam = await post(api, video, stranger, "buy now")
    answer = await reply(api, spam["id"], viewer, "no thanks")
    assert await comment_count(api, video) == 2
    assert (await api.call("PUT", f"/comments/{spam['id']}/hide", account=viewer)).status == 403
    for _ in range(2):  # idempotent
        assert (await api.call("PUT", f"/comments/{spam['id']}/hide", account=moderator)).status == 204
    assert await comment_count(api, video) == 1

    seen = (await threads(api, video, viewer))["items"]
    assert [(c["state"], c["text"], c["author"]) for c in seen] == [("hidden", None, None)]
    assert (await threads(api, video, moderator))["items"][0]["text"] == "buy now"
    assert (await api.call("PUT", f"/comments/{spam['id']}/like", account=viewer)).status == 404
    # Hiding a reply moves its thread's count too.
    await api.call("PUT", f"/comments/{answer['id']}/hide", account=moderator)
    assert (await threads(api, video))["items"] == []  # nothing live is left in the thread
    await api.call("DELETE", f"/comments/{answer['id']}/hide", account=moderator)
    assert (await api.call("DELETE", f"/comments/{spam['id']}/hide", account=moderator)).status == 204
    assert await comment_count(api, video) == 2
    restored = (await threads(api, video))["items"][0]
    assert (restored["state"], restored["reply_count"]) == ("visible", 1)


async def test_videos_the_caller_may_not_watch_are_404(api, world):
    owner, viewer, _, _ = world
    private = await make_video(api, owner, privacy=Privacy.PRIVATE)
    processing = await make_video(api, owner, status=Status.PROCESSING)
    mine = await post(api, private, owner, "note to self")  # the owner sees their own video
    unknown = await api.call("GET", "/videos/AAAAAAAAAAA/comments")
    for video in (private, processing):
        for account in (None, viewer):
            listed = await api.call("GET", f"/videos/{video}/comments", account=account)
            assert listed.status == 404 and listed.body == unknown.body
            posted = await api.call("POST", f"/videos/{video}/comments", json={"text": "x"},
                                    account=viewer)
            assert posted.status == 404
    gone = await api.call("GET", f"/comments/{2**62}")
    assert gone.body == {"error": "not_found", "detail": "comment not found"}
    for method, path, body in [("GET", "", None), ("GET", "/replies", None),
                               ("POST", "/replies", {"text": "x"}), ("PUT", "/like", None),
                               ("PATCH", "", {"text": "x"}), ("DELETE", "", None),
                               ("PUT", "/pin", None), ("PUT", "/hide", None)]:
        got = await api.call(method, f"/comments/{mine['id']}{path}", json=body, account=viewer)
        assert (got.status, got.body) == (404, gone.body), (method, path)
    assert (await api.call("POST", f"/videos/{private}/comments", json={"text": "x"})).status == 401


async def test_counters_under_concurrency(api, world):
    _, viewer, _, video = world
    target = await post(api, video, viewer, "like me")
    likers = await asyncio.gather(*[api.register() for _ in range(50)])
    results = await asyncio.gather(*[
        api.call("PUT", f"/comments/{target['id']}/like", account=a) for a in likers])
    assert {r.status for r in results} == {200}
    assert (await api.call("GET", f"/comments/{target['id']}")).body["like_count"] == 50
    # 50 posts (half of them replies) racing 10 deletes.
    doomed = [await post(api, video, viewer, f"doomed {i}") for i in range(10)]
    before = await comment_count(api, video)
    writes = [post(api, video, a, "top") if i % 2 else reply(api, target["id"], a)
              for i, a in enumerate(likers)]
    deletes = [api.call("DELETE", f"/comments/{c['id']}", account=viewer) for c in doomed]
    await asyncio.gather(*writes, *deletes)
    assert await comment_count(api, video) == before + 50 - 10
    assert (await api.call("GET", f"/comments/{target['id']}")).body["reply_count"] == 25


async def test_bad_input(api, world):
    _, viewer, _, video = world
    comment = await post(api, video, viewer)
    path = f"/videos/{video}/comments"
    for params in ({"sort": "best"}, {"sort": ""}, {"limit": "0"}, {"limit": "101"},
                   {"cursor": "!!"}, {"cursor": cursor_of([1, 2])},  # a top cursor for newest
                   {"sort": "top", "cursor": cursor_of([5])}, {"sort": "top", "cursor": cursor_of([-1, 5])},
                   {"cursor": cursor_of(["x"])}, {"cursor": cursor_of([2**64])}):
        got = await api.call("GET", path, params=params)
        assert got.status in (400, 422), params
    for body in ({"text": "x", "timestamp_seconds": -1}, {"text": "x", "timestamp_seconds": 1e8},
                 {"text": "x", "timestamp_seconds": "5"}, {"text": "x", "timestamp_seconds": True}):
        got = await api.call("POST", path, json=body, account=viewer)
        assert got.status == 422, body
    for comment_id in ("0", "-1", "x", "1.5", str(2**63), "1 OR 1=1"):
        assert (await api.call("GET", f"/comments/{comment_id}")).status == 422, comment_id
    # Failed writes leave nothing behind.
    count = await comment_count(api, video)
    await api.call("POST", f"/comments/{comment['id']}/replies", json={"text": ""}, account=viewer)
    assert await comment_count(api, video) == count
    assert (await api.call("GET", f"/comments/{comment['id']}")).body["reply_count"] == 0
