"""Rooms on one node: who may join and send, what a joiner is sent, messages as plain text,
viewer counts, and a video's room as its live comment section."""

from __future__ import annotations

import asyncio

from catalog.videos import Privacy
from tests.chat.conftest import live_room
from tests.support.social import make_video


async def test_messages_reach_the_room_with_author_badge_and_server_time(api, chatter):
    owner, viewer = await api.register(creator=True), await api.register()
    room = await live_room(api, owner)
    owner_chat, viewer_chat, anonymous = await chatter(owner), await chatter(viewer), await chatter()
    for client in (owner_chat, viewer_chat, anonymous):
        await client.join(room)

    sent = await viewer_chat.send(room, "hello there")
    assert sent["ok"], sent
    message = await anonymous.wait_for("message")
    assert message == sent["message"]
    assert message["text"] == "hello there"
    assert message["author"] == {"id": message["author"]["id"], "username": viewer.username,
                                 "display_name": f"User {viewer.username[1:]}", "badge": None}
    assert isinstance(message["time"], int) and message["time"] > 1_700_000_000_000

    from_owner = (await owner_chat.send(room, "welcome"))["message"]
    assert from_owner["author"]["badge"] == "owner"


async def test_anonymous_clients_read_but_may_not_send(api, chatter):
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    anonymous = await chatter()
    joined = await anonymous.join(room)
    assert joined["you"] == {"signed_in": False}
    refused = await anonymous.send(room, "hi")
    assert refused["error"]["code"] == "sign_in_required"
    assert (await anonymous.wait_for("error"))["code"] == "sign_in_required"


async def test_text_is_text(api, chatter):
    """Markup is delivered verbatim (clients render text); control and bidi-override
    characters are removed, line breaks become spaces, emoji sequences survive."""
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    client = await chatter(owner)
    await client.join(room)
    html = '<img src=x onerror="alert(1)"> &amp; <script>x</script>'
    assert (await client.send(room, html))["message"]["text"] == html
    tricky = "a\u202eevil\x00\x07\nline 👩\u200d👩\u200d👧"
    assert (await client.send(room, tricky))["message"]["text"] == "aevil line 👩\u200d👩\u200d👧"


async def test_join_sends_history_pinned_rules_and_viewers(api, chatter):
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    first = await chatter(owner)
    await first.join(room)
    await first.call("set_rules", {"room": room, "rate": "100 per second"})
    sent = []
    for i in range(3):
        sent.append((await first.send(room, f"message {i}"))["message"])
    assert (await first.call("pin", {"room": room, "id": sent[1]["id"]}))["ok"]

    late = await chatter()
    joined = await late.join(room)
    assert joined["history"] == sent  # oldest first, exactly as delivered
    assert joined["pinned"] == sent[1]
    assert joined["rules"]["rate"] == "100 per second"
    assert joined["viewers"] == 2


async def test_history_keeps_the_last_fifty(api, chatter):
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    client = await chatter(owner)
    await client.join(room)
    await client.call("set_rules", {"room": room, "rate": "1000 per second"})
    for i in range(55):
        assert (await client.send(room, f"m{i}"))["ok"]
        await asyncio.sleep(0.1)  # within the connection's event budget (10/s)
    history = (await (await chatter()).join(room))["history"]
    assert [m["text"] for m in history] == [f"m{i}" for i in range(5, 55)]


async def test_viewer_counts_follow_joins_and_leaves(api, chatter):
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    watcher = await chatter()
    assert (await watcher.join(room))["viewers"] == 1
    others = [await chatter() for _ in range(3)]
    for other in others:
        await other.join(room)
    await watcher.wait_for("viewers", lambda d: d["room"] == room and d["count"] == 4)
    await others[0].call("leave", {"room": room})
    await others[1].close()
    await watcher.wait_for("viewers", lambda d: d["count"] == 2)


async def test_rooms_that_do_not_exist_or_are_private(api, chatter):
    owner, stranger = await api.register(creator=True), await api.register()
    private = await make_video(api, owner, privacy=Privacy.PRIVATE)
    client = await chatter(stranger)
    for room in ("live:nosuchstream", "video:AAAAAAAAAAA", f"video:{private}"):
        answer = await client.call("join", {"room": room})
        assert answer["error"]["code"] == "not_found", answer
    assert (await client.call("join", {"room": "lobby"}))["error"]["code"] == "bad_request"
    assert (await (await chatter(owner)).join(f"video:{private}"))["ok"]


async def test_a_video_room_is_its_comment_section(api, chatter):
    """Messages become timestamped comments the REST API serves; REST comments, replies and
    deletes reach the room live."""
    owner, viewer = await api.register(creator=True), await api.register()
    video = await make_video(api, owner)
    room = f"video:{video}"
    watcher, commenter = await chatter(), await chatter(viewer)
    await watcher.join(room)
    await commenter.join(room)

    sent = await commenter.send(room, "great moment", timestamp=12.5)
    assert sent["ok"], sent
    assert (await watcher.wait_for("message"))["timestamp"] == 12.5
    comments = (await api.call("GET", f"/videos/{video}/comments")).body["items"]
    assert [(c["id"], c["text"], c["timestamp_seconds"]) for c in comments] == [
        (int(sent["message"]["id"]), "great moment", 12.5)]

    posted = await api.call("POST", f"/videos/{video}/comments", json={"text": "via REST"}, account=owner)
    assert posted.status == 201
    live = await watcher.wait_for("message", lambda m: m["text"] == "via REST")
    assert live["id"] == str(posted.body["id"]) and live["thread"] is None
    reply = await api.call("POST", f"/comments/{posted.body['id']}/replies", json={"text": "a reply"},
                           account=viewer)
    assert (await watcher.wait_for("message", lambda m: m["text"] == "a reply"))["thread"] == live["id"]
    assert (await api.call("DELETE", f"/comments/{reply.body['id']}", account=viewer)).status == 204
    await watcher.wait_for("deleted", lambda d: d["id"] == str(reply.body["id"]))

    joined = await (await chatter()).join(room)
    assert [m["text"] for m in joined["history"]] == ["great moment", "via REST"]
    timestamp_on_live = await commenter.call("send", {"room": room, "text": "x", "timestamp": -1})
    assert timestamp_on_live["error"]["code"] == "bad_request"
