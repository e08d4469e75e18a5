"""Moderation on one node: limits, modes, filters, deletes, time-outs, bans, pins and
moderators, each from the chat itself, as moderators use them."""

from __future__ import annotations

import asyncio

from catalog.access import Role
from tests.chat.conftest import live_room
from tests.support.social import make_video


async def _room_with(api, chatter, *people):
    """A fresh live room owned by a new creator; the owner's and each person's joined client."""
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    clients = []
    for account in (owner, *people):
        client = await chatter(account)
        await client.join(room)
        clients.append(client)
    return room, owner, clients


async def test_rate_limit_per_user_default_and_per_room(api, chatter):
    viewer = await api.register()
    room, _, (owner_chat, chat) = await _room_with(api, chatter, viewer)
    answers = [await chat.send(room, f"m{i}") for i in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3]["error"]["code"] == "rate_limited"
    assert 1 <= answers[3]["error"]["retry_after"] <= 2
    await asyncio.sleep(2.1)
    assert (await chat.send(room, "again"))["ok"]

    changed = await owner_chat.call("set_rules", {"room": room, "rate": "1 per 10 seconds"})
    assert changed["rules"]["rate"] == "1 per 10 seconds"
    await chat.wait_for("rules", lambda r: r["rate"] == "1 per 10 seconds")
    await asyncio.sleep(2.1)
    assert (await chat.send(room, "one"))["ok"]
    assert (await chat.send(room, "two"))["error"]["code"] == "rate_limited"
    refused = await owner_chat.call("set_rules", {"room": room, "rate": "lots"})
    assert refused["error"]["code"] == "bad_request"
    viewer_try = await chat.call("set_rules", {"room": room, "slow_mode": 5})
    assert viewer_try["error"]["code"] == "forbidden"


async def test_slow_mode_spares_moderators(api, chatter):
    viewer = await api.register()
    room, _, (owner_chat, chat) = await _room_with(api, chatter, viewer)
    await owner_chat.call("set_rules", {"room": room, "slow_mode": 2})
    assert (await chat.send(room, "first"))["ok"]
    slow = await chat.send(room, "second")
    assert slow["error"]["code"] == "slow_mode" and slow["error"]["retry_after"] in (1, 2)
    assert (await owner_chat.send(room, "a"))["ok"] and (await owner_chat.send(room, "b"))["ok"]
    await asyncio.sleep(2.1)
    assert (await chat.send(room, "third"))["ok"]


async def test_subscribers_only(api, chatter):
    fan, stranger = await api.register(), await api.register()
    room, owner, (owner_chat, fan_chat, stranger_chat) = await _room_with(api, chatter, fan, stranger)
    subscribed = await api.call("PUT", f"/channels/{owner.channel}/subscription", account=fan)
    assert subscribed.status in (200, 204), subscribed.body
    await owner_chat.call("set_rules", {"room": room, "subscribers_only": True})
    assert (await stranger_chat.send(room, "hi"))["error"]["code"] == "subscribers_only"
    assert (await fan_chat.send(room, "hi"))["ok"]
    assert (await owner_chat.send(room, "hi"))["ok"]


async def test_length_and_word_filters(api, chatter):
    viewer = await api.register()
    room, _, (owner_chat, chat) = await _room_with(api, chatter, viewer)
    await owner_chat.call("set_rules", {"room": room, "max_length": 20, "rate": "100 per second"})
    assert (await chat.send(room, "x" * 21))["error"]["code"] == "bad_text"
    assert (await chat.send(room, " \u200b\u202e "))["error"]["code"] == "bad_text"
    assert (await chat.send(room, "what the fuck"))["message"]["text"] == "what the ***"
    assert (await chat.send(room, "Scunthorpe assassin"))["message"]["text"] == "Scunthorpe assassin"
    # Numbers are not leetspeak ("85" would read as "bs"), and survive next to a masked word.
    assert (await chat.send(room, "85 to 717, sh1t"))["message"]["text"] == "85 to 717, ***"

    words = await owner_chat.call("set_banned_words", {"room": room, "words": ["Spoiler", "ending"]})
    assert words["words"] == ["ending", "spoiler"]
    assert (await chat.send(room, "huge SPOILER here"))["error"]["code"] == "banned_word"
    assert (await chat.send(room, "spoilers are fine"))["ok"]  # whole words only
    assert (await owner_chat.call("banned_words", {"room": room}))["words"] == ["ending", "spoiler"]
    assert (await chat.call("banned_words", {"room": room}))["error"]["code"] == "forbidden"


async def test_deletes(api, chatter):
    viewer, other = await api.register(), await api.register()
    room, _, (owner_chat, chat, other_chat) = await _room_with(api, chatter, viewer, other)
    mine = (await chat.send(room, "oops"))["message"]
    theirs = (await other_chat.send(room, "rude"))["message"]
    assert (await chat.call("delete", {"room": room, "id": theirs["id"]}))["error"]["code"] == "forbidden"
    assert (await chat.call("delete", {"room": room, "id": mine["id"]}))["ok"]
    assert (await owner_chat.call("delete", {"room": room, "id": theirs["id"]}))["ok"]
    await other_chat.wait_for("deleted", lambda d: d["id"] == theirs["id"])
    assert (await owner_chat.call("delete", {"room": room, "id": theirs["id"]}))["error"]["code"] == "not_found"
    assert (await (await chatter()).join(room))["history"] == []


async def test_time_out_expires(api, chatter):
    viewer = await api.register()
    room, _, (owner_chat, chat) = await _room_with(api, chatter, viewer)
    said = (await chat.send(room, "spam"))["message"]
    user_id = said["author"]["id"]
    timed = await owner_chat.call("timeout", {"room": room, "user_id": user_id, "seconds": 2})
    assert timed["ok"]
    notice = await chat.wait_for("sanction", lambda s: s["kind"] == "timeout")
    assert notice["user_id"] == user_id and notice["cleared"] == [said["id"]]
    refused = await chat.send(room, "more")
    assert refused["error"]["code"] == "timed_out" and refused["error"]["retry_after"] in (1, 2)
    await asyncio.sleep(2.2)
    assert (await chat.send(room, "sorry"))["ok"]


async def test_a_ban_holds_across_reconnects_and_the_channels_rooms(api, chatter):
    troll = await api.register()
    room, owner, (owner_chat, troll_chat) = await _room_with(api, chatter, troll)
    troll_id = (await troll_chat.send(room, "hi"))["message"]["author"]["id"]
    assert (await owner_chat.call("ban", {"room": room, "user_id": troll_id}))["ok"]
    assert (await troll_chat.send(room, "let me in"))["error"]["code"] == "banned"

    await troll_chat.close()
    again = await chatter(troll)
    assert (await again.join(room))["you"]["banned"] is True
    assert (await again.send(room, "new connection"))["error"]["code"] == "banned"
    video_room = f"video:{await make_video(api, owner)}"
    await again.join(video_room)
    assert (await again.send(video_room, "under a video"))["error"]["code"] == "banned"

    assert (await owner_chat.call("unban", {"room": room, "user_id": troll_id}))["ok"]
    assert (await again.send(room, "thanks"))["ok"]


async def test_who_may_sanction_whom(api, chatter):
    mod, viewer, staff = await api.register(), await api.register(), await api.register()
    await api.set_role(staff, Role.MODERATOR)
    room, owner, (owner_chat, mod_chat, viewer_chat, staff_chat) = await _room_with(
        api, chatter, mod, viewer, staff)
    ids = {}
    for name, client in (("owner", owner_chat), ("mod", mod_chat), ("viewer", viewer_chat),
                         ("staff", staff_chat)):
        await owner_chat.call("set_rules", {"room": room, "rate": "100 per second"})
        ids[name] = (await client.send(room, name))["message"]["author"]["id"]

    assert (await viewer_chat.call("ban", {"room": room, "user_id": ids["mod"]}))["error"]["code"] == "forbidden"
    assert (await viewer_chat.call("add_moderator", {"room": room, "user_id": ids["viewer"]}))[
        "error"]["code"] == "forbidden"
    assert (await owner_chat.call("add_moderator", {"room": room, "user_id": ids["mod"]}))["ok"]
    await mod_chat.join(room)  # powers are read at join
    assert (await mod_chat.send(room, "now a mod"))["message"]["author"]["badge"] == "moderator"

    assert (await mod_chat.call("ban", {"room": room, "user_id": ids["owner"]}))["error"]["code"] == "forbidden"
    assert (await mod_chat.call("ban", {"room": room, "user_id": ids["staff"]}))["error"]["code"] == "forbidden"
    assert (await staff_chat.call("timeout", {"room": room, "user_id": ids["viewer"], "seconds": 60}))["ok"]
    assert (await mod_chat.call("unban", {"room": room, "user_id": ids["viewer"]}))["ok"]
    assert (await viewer_chat.send(room, "free"))["ok"]
    assert (await staff_chat.call("ban", {"room": room, "user_id": 10**12}))["error"]["code"] == "not_found"


async def test_pins(api, chatter):
    room, _, (owner_chat,) = await _room_with(api, chatter)
    watcher = await chatter()
    await watcher.join(room)
    message = (await owner_chat.send(room, "read the rules"))["message"]
    assert (await owner_chat.call("pin", {"room": room, "id": message["id"]}))["ok"]
    assert (await watcher.wait_for("pinned"))["message"] == message
    assert (await owner_chat.call("unpin", {"room": room}))["ok"]
    await watcher.wait_for("pinned", lambda p: p["message"] is None)
    assert (await watcher.call("pin", {"room": room, "id": message["id"]}))["error"]["code"] == "forbidden"

    assert (await owner_chat.call("pin", {"room": room, "id": message["id"]}))["ok"]
    watcher.received.clear()
    assert (await owner_chat.call("delete", {"room": room, "id": message["id"]}))["ok"]
    await watcher.wait_for("pinned", lambda p: p["message"] is None)  # a deleted message unpins
    assert (await (await chatter()).join(room))["pinned"] is None


async def test_moderating_a_video_room_acts_on_its_comments(api, chatter):
    owner, viewer = await api.register(creator=True), await api.register()
    video = await make_video(api, owner)
    room = f"video:{video}"
    owner_chat, chat = await chatter(owner), await chatter(viewer)
    await owner_chat.join(room)
    await chat.join(room)
    comment = (await chat.send(room, "first!"))["message"]
    assert (await owner_chat.call("pin", {"room": room, "id": comment["id"]}))["ok"]
    pinned = await api.call("GET", f"/videos/{video}/comments")
    assert pinned.body["pinned"]["id"] == int(comment["id"])
    assert (await owner_chat.call("delete", {"room": room, "id": comment["id"]}))["ok"]
    await chat.wait_for("deleted", lambda d: d["id"] == comment["id"])
    gone = await api.call("GET", f"/comments/{comment['id']}")
    assert gone.body["state"] == "deleted"
