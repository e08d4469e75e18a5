"""Two chat nodes in their own processes (``tributary serve chat``) on one Redis and one
PostgreSQL: a room spans both, and so do history, viewer counts and moderation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chat.conftest import live_room
from tests.support.role_process import RoleProcess, start_role
from tributary.secret_key import load_secret_key


@pytest.fixture(scope="module")
async def chat_nodes(services, chat_node, tmp_path_factory) -> AsyncIterator[tuple[RoleProcess, RoleProcess]]:
    """Chat nodes A and B, sharing the test node's secret key so its access tokens hold."""
    secret = load_secret_key(chat_node.node.settings).decode()
    env = {"TRIBUTARY_SECRET_KEY": secret}
    root = tmp_path_factory.mktemp("chat-nodes")
    nodes: list[RoleProcess] = []
    try:
        for name in ("a", "b"):
            nodes.append(await start_role("chat", services.database_url, services.redis_url,
                                          root / name, env))
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            await node.stop()


async def test_messages_cross_nodes_in_order(api, chatter, chat_nodes):
    node_a, node_b = chat_nodes
    alice, bob = await api.register(creator=True), await api.register()
    room = await live_room(api, alice)
    on_a, on_b = await chatter(alice, http=node_a.http), await chatter(bob, http=node_b.http)
    await on_a.join(room)
    await on_b.join(room)
    await on_a.call("set_rules", {"room": room, "rate": "100 per second"})

    sent = []
    for i in range(10):
        sender = on_a if i % 2 == 0 else on_b
        sent.append((await sender.send(room, f"m{i}"))["message"])
    for client in (on_a, on_b):
        await client.wait_for("message", lambda m: m["text"] == "m9")
        assert [m["text"] for m in client.events("message")] == [f"m{i}" for i in range(10)]
        assert client.events("message") == sent
    joined = await (await chatter(http=node_b.http)).join(room)
    assert joined["history"] == sent


async def test_viewer_counts_span_nodes(api, chatter, chat_nodes):
    node_a, node_b = chat_nodes
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    watcher = await chatter(http=node_a.http)
    await watcher.join(room)
    for _ in range(3):
        await (await chatter(http=node_b.http)).join(room)
    await watcher.wait_for("viewers", lambda d: d["count"] == 4)
    assert (await (await chatter(http=node_a.http)).join(room))["viewers"] == 5


async def test_a_ban_on_one_node_holds_on_the_other(api, chatter, chat_nodes):
    node_a, node_b = chat_nodes
    owner, troll = await api.register(creator=True), await api.register()
    room = await live_room(api, owner)
    owner_chat, troll_chat = await chatter(owner, http=node_a.http), await chatter(troll, http=node_b.http)
    await owner_chat.join(room)
    await troll_chat.join(room)
    await owner_chat.call("set_rules", {"room": room, "slow_mode": 60})
    said = (await troll_chat.send(room, "first"))["message"]
    await owner_chat.wait_for("message", lambda m: m["id"] == said["id"])
    assert (await troll_chat.send(room, "second"))["error"]["code"] == "slow_mode"

    assert (await owner_chat.call("ban", {"room": room, "user_id": said["author"]["id"]}))["ok"]
    notice = await troll_chat.wait_for("sanction", lambda s: s["kind"] == "ban")
    assert notice["cleared"] == [said["id"]]
    assert (await troll_chat.send(room, "still here?"))["error"]["code"] == "banned"
    elsewhere = await chatter(troll, http=node_a.http)
    assert (await elsewhere.join(room))["you"]["banned"] is True
