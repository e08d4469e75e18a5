"""Bad input to the chat (docs/chat.md, "Protection"): garbage at each layer of the protocol,
hostile events and auth payloads, oversized packets, floods, and clients that never read.

Each case ends with an error for that one client, or with that one connection closed. A speaker
and a bystander in the same room go on chatting as if nothing happened, and once everyone has
left, the node holds no more than before: no chat clients, Engine.IO sessions or Socket.IO
participants, and no more asyncio tasks or open file descriptors (the database pools' aside)
than when the test began.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import pytest
from prometheus_client import REGISTRY

from catalog.access import Principal, Role
from catalog.access_tokens import AccessTokens
from tests.chat.conftest import live_room
from tests.support.api_client import Account, Api, api_for
from tests.support.chat_client import ChatClient
from tests.support.nodes import RunningNode, node_factory
from tests.support.raw_socketio import RawSocketIO
from tributary.secret_key import load_secret_key

NORMAL_LATENCY = 1.0
"""Seconds a message may take from the speaker to the bystander (on loopback it takes
milliseconds: a second means the node was kept busy by somebody else)."""
SETTLE_SECONDS = 10.0
"""How long a node may take to let go of everything a test's connections held."""
MAX_EVENT_BYTES = 16 * 1024  # chat.max_event_bytes
STRICT_CHAT: dict[str, Any] = {
    "max_queued_packets": 20,
    "ping_interval": 1.0,
    "ping_timeout": 2.0,
    # One speaker must push megabytes into a room in seconds.
    "event_rate": 1000.0,
    "event_burst": 1000,
    "max_length": 10_000,
    "profanity_filter": False,
}
"""A node of its own, whose limits a test reaches in seconds."""


# -- what a node holds ---------------------------------------------------------------------------


_CHAT_STACK = ("/engineio/", "/socketio/", "/aiohttp/", "/chat/")
"""Where the tasks a chat connection could leave behind run: Engine.IO, Socket.IO, aiohttp and
the chat itself. The node's other work (its job worker, say) comes and goes on its own."""

_NOT_A_LEAK = {
    # Engine.IO arms a heartbeat timer per connection (a sleep of ping_interval before the next
    # ping) and never cancels it: it outlives the connection by up to ping_interval, then ends.
    "AsyncSocket._send_ping",
    # Started by a server's first connection, and kept: Engine.IO's session monitor and the Redis
    # manager's listener.
    "AsyncServer._service_task",
    "AsyncPubSubManager._thread",
}


def _chat_task(task: asyncio.Task[Any]) -> bool:
    """A task of the chat's stack that a connection could leave behind."""
    code = getattr(task.get_coro(), "cr_code", None)
    if code is None or code.co_qualname in _NOT_A_LEAK:
        return False
    return any(part in code.co_filename for part in _CHAT_STACK)


def _descriptors(port: int) -> int:
    """Open file descriptors but for the database pools' connections (which open on demand, up
    to their limits): files, pipes, and sockets with ``port`` at either end (the node's and its
    clients', all in this process)."""
    at_port = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if port in {int(end.rsplit(":", 1)[1], 16) for end in fields[1:3]}:
                    at_port.add(f"socket:[{fields[9]}]")
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed since listed
            target = os.readlink(f"/proc/self/fd/{fd}")
            if not target.startswith("socket:") or target in at_port:
                count += 1
    return count


@dataclass(frozen=True)
class Usage:
    """What a leak would grow: the chat's asyncio tasks and file descriptors (the node runs in
    the tests' process and loop)."""

    tasks: int
    fds: int

    @classmethod
    def of(cls, node: RunningNode) -> Usage:
        assert node.node.endpoints is not None
        tasks = [task for task in asyncio.all_tasks() if _chat_task(task)]
        return cls(len(tasks), _descriptors(node.node.endpoints.http_port))


async def eventually(
    check: Callable[[], object], what: Callable[[], str], timeout: float = SETTLE_SECONDS
) -> None:
    """Wait for ``check()`` to hold; ``what()`` says what did not happen in time."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what()}")
        await asyncio.sleep(0.05)


def _held(node: RunningNode, baseline: Usage) -> dict[str, int]:
    """What the node holds beyond ``baseline``: all zeros once every client has gone."""
    chat = node.node.chat
    assert chat is not None
    now = Usage.of(node)
    return {
        "clients": len(chat._clients),
        "sessions": len(chat.sio.eio.sockets),
        "participants": len(list(chat.sio.manager.get_participants("/", None))),
        "tasks": max(0, now.tasks - baseline.tasks),
        "fds": max(0, now.fds - baseline.fds),
    }


def _dropped(reason: str) -> float:
    """``tributary_chat_dropped_connections_total{reason}``, so far."""
    return REGISTRY.get_sample_value("tributary_chat_dropped_connections_total", {"reason": reason}) or 0.0


# -- a room with two healthy clients in it -------------------------------------------------------


@dataclass
class Stage:
    """A live room on a node, its owner speaking and a bystander listening. Every client a test
    opens through the stage is closed with it."""

    node: RunningNode
    api: Api
    owner: Account
    room: str
    speaker: ChatClient = field(init=False)
    bystander: ChatClient = field(init=False)
    opened: list[ChatClient | RawSocketIO] = field(default_factory=list)

    async def client(self, account: Account | None = None, *, join: bool = True) -> ChatClient:
        """A python-socketio client (signed in as ``account``, if given), in the room unless
        ``join`` is false."""
        client = ChatClient()
        self.opened.append(client)
        await client.connect(self.node.http, account.access if account else None)
        if join:
            await client.join(self.room)
        return client

    async def raw(self) -> RawSocketIO:
        """An Engine.IO session, not yet connected to the namespace."""
        raw = await RawSocketIO.open(self.api.session, self.node.http)
        self.opened.append(raw)
        return raw

    async def still_chatting(self) -> None:
        """The speaker's next message reaches the bystander within :data:`NORMAL_LATENCY`,
        neither of them has heard an error or lost its connection, and the node is ready."""
        text = f"still here {uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        answer = await self.speaker.send(self.room, text)
        assert answer["ok"], answer
        await self.bystander.wait_for("message", lambda m: m["text"] == text, timeout=NORMAL_LATENCY)
        assert time.monotonic() - started < NORMAL_LATENCY
        for healthy in (self.speaker, self.bystander):
            assert healthy.sio.connected
            assert healthy.events("error") == []
        async with self.api.session.get(self.node.http + "/readyz") as ready:
            assert ready.status == 200


@asynccontextmanager
async def staged(node: RunningNode) -> AsyncIterator[Stage]:
    """A stage on ``node``; afterwards, the node must let go of everything within
    :data:`SETTLE_SECONDS`."""
    baseline = Usage.of(node)
    async with api_for(node) as api:
        owner = await api.register(creator=True)
        stage = Stage(node, api, owner, await live_room(api, owner))
        try:
            stage.speaker = await stage.client(owner)
            # The speaker's own send limit (3 per 2 s) must not be what a test measures.
            rules = {"room": stage.room, "rate": "100 per second"}
            assert (await stage.speaker.call("set_rules", rules))["ok"]
            stage.bystander = await stage.client(await api.register())
            yield stage
        finally:
            for client in reversed(stage.opened):
                await client.close()
    await eventually(lambda: not any(_held(node, baseline).values()),
                     lambda: f"the node to let go of everything; it holds {_held(node, baseline)}")


@pytest.fixture
async def stage(chat_node: RunningNode) -> AsyncIterator[Stage]:
    async with staged(chat_node) as on_stage:
        yield on_stage


@pytest.fixture(scope="module")
async def strict_node(
    services: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path_factory.mktemp("strict-chat")) as start:
        yield await start(chat=STRICT_CHAT)


@pytest.fixture
async def strict_stage(strict_node: RunningNode) -> AsyncIterator[Stage]:
    async with staged(strict_node) as on_stage:
        yield on_stage


# -- Engine.IO and Socket.IO garbage -------------------------------------------------------------

NOT_ENGINE_IO = [
    pytest.param("", id="empty"),
    pytest.param("x", id="letter"),
    pytest.param("9", id="packet-type-9"),
    pytest.param('{"type":"message"}', id="json"),
    pytest.param("b!!!!", id="bad-base64"),
    pytest.param("".join(random.Random(1).choices("abcdefgh{}[]\":, ", k=200)), id="random-text"),
]


@pytest.mark.parametrize("connected", [False, True], ids=["before-connect", "connected"])
@pytest.mark.parametrize("frame", NOT_ENGINE_IO)
async def test_a_frame_that_is_not_engine_io_closes_that_connection(
    stage: Stage, frame: str, connected: bool
) -> None:
    raw = await stage.raw()
    if connected:
        assert (await raw.connect()).startswith("40")
    await raw.send(frame)
    assert await raw.closed() == aiohttp.WSCloseCode.PROTOCOL_ERROR
    await stage.still_chatting()


GARBAGE_BEFORE_CONNECT = [
    pytest.param("4", id="empty-socket-io-packet"),
    pytest.param("4x", id="not-socket-io"),
    pytest.param("42[", id="truncated"),
    pytest.param('42["join",{"room":"live:x"}]', id="event-before-connect"),
    pytest.param("430[]", id="ack-before-connect"),
    pytest.param("47", id="packet-type-7"),
    pytest.param(b"\x00\x01\xfe\xff", id="binary"),
    pytest.param(random.Random(2).randbytes(512), id="random-bytes"),
]


@pytest.mark.parametrize("frame", GARBAGE_BEFORE_CONNECT)
async def test_anything_but_a_connect_before_connecting_drops_that_session(
    stage: Stage, frame: str | bytes
) -> None:
    """Before its connect, a session has no namespace to hear an error in: it is dropped."""
    raw = await stage.raw()
    await raw.send(frame)
    await raw.closed()
    await stage.still_chatting()


MALFORMED = [
    pytest.param("4", id="empty-socket-io-packet"),
    pytest.param("42[", id="truncated-json"),
    pytest.param('42["send"', id="truncated-event"),
    pytest.param('42["send",{"room":', id="truncated-data"),
    pytest.param("42{}", id="object-not-list"),
    pytest.param('42"send"', id="string-not-list"),
    pytest.param("42null", id="null"),
    pytest.param("42[]", id="no-name"),
    pytest.param("42[1]", id="number-name"),
    pytest.param('42[{"a":1}]', id="object-name"),
    pytest.param("42[null]", id="null-name"),
    pytest.param("421", id="ack-id-no-event"),
    pytest.param("42" + "1" * 200, id="ack-id-too-long"),
    pytest.param("430[]", id="ack-never-asked-for"),
    pytest.param("44{}", id="connect-error-from-client"),
    pytest.param("47", id="packet-type-7"),
    pytest.param("4-", id="not-a-packet-type"),
    pytest.param('451-["send",{"_placeholder":true,"num":0}]', id="binary-event"),
    pytest.param('4599999999-["send",{"_placeholder":true,"num":0}]', id="99999999-attachments"),
    pytest.param(b"\x00\x01\xfe\xff", id="binary-frame"),
    pytest.param('42/nope,["join",{"room":"live:x"}]', id="unknown-namespace"),
    pytest.param('42["join",' + "[" * 5000 + "]" * 5000 + "]", id="nested-5000-deep"),
    pytest.param('42["join",{"room":1' + "0" * 5000 + "}]", id="5000-digit-number"),
]


@pytest.mark.parametrize("packet", MALFORMED)
async def test_a_malformed_packet_gets_an_error_and_the_connection_stays(
    stage: Stage, packet: str | bytes
) -> None:
    raw = await stage.raw()
    assert (await raw.connect()).startswith("40")
    await raw.send(packet)
    error = await raw.next_event("error")
    assert error["code"] == "bad_request" and error["event"] == "", error
    await raw.emit("join", {"room": stage.room}, ack=7)
    joined = json.loads((await raw.next_packet(lambda p: p.startswith("437")))[3:])[0]
    assert joined["ok"], joined
    await stage.still_chatting()


async def test_a_namespace_that_does_not_exist_is_refused(stage: Stage) -> None:
    raw = await stage.raw()
    await raw.send("40/nope,")
    assert (await raw.next_packet(lambda p: p.startswith("44"))).startswith("44/nope,")
    assert (await raw.connect()).startswith("40{")  # the session stays, and may connect to "/"
    await stage.still_chatting()


# -- events: names, shapes and types -------------------------------------------------------------


@pytest.mark.parametrize("name", ["connect", "disconnect", "*"])
async def test_events_named_like_the_servers_own_handlers_are_unknown(stage: Stage, name: str) -> None:
    """python-socketio would run the server's own ``connect``/``disconnect``/``*`` handler for
    such an event: ``disconnect`` would leave the client in its rooms, unregistered."""
    client = await stage.client(await stage.api.register())
    await client.sio.emit(name, {"room": stage.room})
    error = await client.wait_for("error")
    assert (error["event"], error["code"]) == (name, "unknown_event")
    assert (await client.send(stage.room, "still registered"))["ok"]
    await stage.still_chatting()


def _in_room(**fields: Any) -> Callable[[str], tuple[dict[str, Any]]]:
    """An event's arguments: one object, about the test's room."""
    return lambda room: ({"room": room, **fields},)


def _send(text: Any, **fields: Any) -> Callable[[str], tuple[dict[str, Any]]]:
    return _in_room(text=text, **fields)


NAN, INFINITY = float("nan"), float("inf")  # JSON as Python writes it: NaN, Infinity

REFUSED_EVENTS = [
    # Unknown events, answered like any other.
    pytest.param("nope", _in_room(), "unknown_event", id="unknown"),
    pytest.param("error", _in_room(), "unknown_event", id="error"),
    pytest.param("message", _in_room(), "unknown_event", id="message"),
    pytest.param("connect_error", _in_room(), "unknown_event", id="connect_error"),
    pytest.param("JOIN", _in_room(), "unknown_event", id="upper-case"),
    pytest.param("join ", _in_room(), "unknown_event", id="trailing-space"),
    pytest.param("", _in_room(), "unknown_event", id="empty-name"),
    pytest.param("x" * 5000, _in_room(), "unknown_event", id="5000-char-name"),
    pytest.param("\ud800", _in_room(), "unknown_event", id="lone-surrogate-name"),
    # Not one object.
    pytest.param("join", lambda room: (), "bad_request", id="no-data"),
    pytest.param("join", lambda room: ({"room": room}, {"room": room}), "bad_request", id="two-objects"),
    pytest.param("join", lambda room: ([room],), "bad_request", id="list"),
    pytest.param("join", lambda room: (room,), "bad_request", id="string"),
    pytest.param("join", lambda room: (5,), "bad_request", id="number"),
    pytest.param("join", lambda room: (None,), "bad_request", id="null"),
    pytest.param("join", lambda room: (True,), "bad_request", id="bool"),
    # Fields: unknown, missing, wrong types, out of range.
    pytest.param("join", _in_room(extra=1), "bad_request", id="unknown-field"),
    pytest.param("join", lambda room: ({},), "bad_request", id="missing-room"),
    pytest.param("send", lambda room: ({"room": 5, "text": "hi"},), "bad_request", id="room-as-number"),
    pytest.param("send", _send(["hi"]), "bad_request", id="text-as-list"),
    pytest.param("send", _send(None), "bad_request", id="text-as-null"),
    pytest.param("send", _send({"$gt": ""}), "bad_request", id="text-as-object"),
    pytest.param("send", _send("hi", timestamp="12"), "bad_request", id="timestamp-as-string"),
    pytest.param("send", _send("hi", timestamp=NAN), "bad_request", id="timestamp-nan"),
    pytest.param("send", _send("hi", timestamp=INFINITY), "bad_request", id="timestamp-infinity"),
    pytest.param("send", _send("hi", timestamp=-INFINITY), "bad_request", id="timestamp-minus-infinity"),
    pytest.param("send", _send("hi", timestamp=-1), "bad_request", id="timestamp-negative"),
    pytest.param("send", _send("hi", timestamp=1.5), "bad_request", id="timestamp-in-a-live-room"),
    pytest.param("send", _send("x" * 10_001), "bad_request", id="text-over-10000-chars"),
    pytest.param("timeout", _in_room(user_id=-1, seconds=60), "bad_request", id="user-negative"),
    pytest.param("timeout", _in_room(user_id=0, seconds=60), "bad_request", id="user-zero"),
    pytest.param("timeout", _in_room(user_id=2**63, seconds=60), "bad_request", id="user-2-63"),
    pytest.param("timeout", _in_room(user_id=10**30, seconds=60), "bad_request", id="user-huge"),
    pytest.param("timeout", _in_room(user_id=True, seconds=60), "bad_request", id="user-bool"),
    pytest.param("timeout", _in_room(user_id=1.5, seconds=60), "bad_request", id="user-float"),
    pytest.param("timeout", _in_room(user_id="1", seconds=60), "bad_request", id="user-string"),
    pytest.param("timeout", _in_room(user_id=NAN, seconds=60), "bad_request", id="user-nan"),
    pytest.param("timeout", _in_room(user_id=2, seconds=INFINITY), "bad_request", id="seconds-inf"),
    pytest.param("timeout", _in_room(user_id=2, seconds=10**20), "bad_request", id="seconds-huge"),
    pytest.param("ban", _in_room(user_id=-INFINITY), "bad_request", id="ban-minus-infinity"),
    pytest.param("delete", _in_room(id="../../x"), "bad_request", id="message-id-path"),
    pytest.param("delete", _in_room(id="*"), "bad_request", id="message-id-glob"),
    pytest.param("delete", _in_room(id=1), "bad_request", id="message-id-number"),
    pytest.param("set_rules", _in_room(rate="lots"), "bad_request", id="rate-not-a-rate"),
    pytest.param("set_rules", _in_room(rate="0 per second"), "bad_request", id="rate-zero"),
    pytest.param("set_rules", _in_room(slow_mode=NAN), "bad_request", id="slow-mode-nan"),
    pytest.param("set_rules", _in_room(subscribers_only="yes"), "bad_request", id="flag-as-string"),
    pytest.param("set_banned_words", _in_room(words="bad"), "bad_request", id="words-as-string"),
    pytest.param("set_banned_words", _in_room(words=[1]), "bad_request", id="word-as-number"),
    # Text with nothing left to read once cleaned, or too long for the room.
    pytest.param("send", _send(""), "bad_text", id="text-empty"),
    pytest.param("send", _send(" \t\n\r\u00a0\u3000 "), "bad_text", id="text-whitespace"),
    pytest.param("send", _send("\u200b\u200c\u2060\ufeff"), "bad_text", id="text-zero-width"),
    pytest.param("send", _send("\u200d\u200d \u200d"), "bad_text", id="text-zero-width-joiners"),
    pytest.param("send", _send("\x00\x01\x1b\x7f\x9b"), "bad_text", id="text-control"),
    pytest.param("send", _send("\udfff\ud800"), "bad_text", id="text-lone-surrogates"),
    pytest.param("send", _send("\u202e\u2066\u2069"), "bad_text", id="text-bidi-controls"),
    pytest.param("send", _send("x" * 10_000), "bad_text", id="text-10000-chars"),
]


@pytest.mark.parametrize(("event", "args", "code"), REFUSED_EVENTS)
async def test_a_refused_event_is_answered_and_the_connection_stays(
    stage: Stage, event: str, args: Callable[[str], tuple[Any, ...]], code: str
) -> None:
    """Both answers of a refusal: the acknowledgement and the ``error`` event."""
    client = await stage.client(await stage.api.register())
    answer = await client.sio.call(event, args(stage.room), timeout=10)
    assert answer["ok"] is False and answer["error"]["code"] == code, answer
    assert answer["error"]["event"] == event
    assert await client.wait_for("error") == answer["error"]
    assert (await client.send(stage.room, "still here"))["ok"]
    await stage.still_chatting()


async def test_text_is_delivered_and_stored_cleaned(stage: Stage) -> None:
    """Lone surrogates (which no UTF-8 encoder, Redis's included, takes), control and format
    characters go; line breaks become spaces; the text is NFC; emoji joiners stay."""
    client = await stage.client(await stage.api.register())
    sent = await client.send(stage.room, "a\ud800b\x00c\u202ed\te\nf\u200bg 👩\u200d👧 cafe\u0301\udfff")
    assert sent["ok"], sent
    cleaned = "abcd e fg 👩\u200d👧 café"
    assert sent["message"]["text"] == cleaned
    heard = await stage.bystander.wait_for("message", lambda m: m["id"] == sent["message"]["id"])
    assert heard["text"] == cleaned
    history = (await (await stage.client()).join(stage.room))["history"]
    assert [m["text"] for m in history if m["id"] == sent["message"]["id"]] == [cleaned]
    await stage.still_chatting()


HOSTILE_ROOMS = [
    pytest.param("live:../../../etc/passwd", id="path-traversal"),
    pytest.param("live:..%2f..%2fetc", id="encoded-traversal"),
    pytest.param("video:../../../..", id="video-traversal"),
    pytest.param("live:*", id="glob-star"),
    pytest.param("live:?", id="glob-question"),
    pytest.param("live:[a-z]*", id="glob-class"),
    pytest.param("*", id="bare-star"),
    pytest.param("live:a\x00b", id="nul"),
    pytest.param("live:" + "a" * 10_240, id="10k-live-name"),
    pytest.param("live:" + "\u00e9" * 2000, id="long-unicode"),  # 12 KB as JSON, under max_event_bytes
    pytest.param("live:ñandú", id="unicode-name"),
    pytest.param("live:名前", id="cjk-name"),
    pytest.param("video:ＡＡＡＡＡＡＡＡＡＡＡ", id="fullwidth-video-id"),
    pytest.param("live:\u202egnp.exe", id="bidi-override"),
    pytest.param("live:\ud800", id="lone-surrogate"),
    pytest.param("LIVE:abc", id="upper-case-kind"),
    pytest.param("live:", id="no-name"),
    pytest.param("live:a:b", id="two-colons"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("room", HOSTILE_ROOMS)
async def test_a_hostile_room_name_is_refused_and_never_reaches_redis(stage: Stage, room: str) -> None:
    client = await stage.client(await stage.api.register(), join=False)
    for event, data, codes in [
        ("join", {"room": room}, {"bad_request", "not_found"}),
        ("send", {"room": room, "text": "hi"}, {"bad_request", "not_joined"}),
        ("ban", {"room": room, "user_id": 1}, {"bad_request", "not_joined"}),
    ]:
        answer = await client.call(event, data)
        assert answer["ok"] is False and answer["error"]["code"] in codes, (event, answer)
    redis = stage.node.node.redis
    assert redis is not None
    keys = [key async for key in redis.scan_iter(match="tributary:chat:*")]
    well_formed = re.compile(rb"tributary:chat:[\w:./-]+", re.ASCII)
    assert [key for key in keys if b".." in key or not well_formed.fullmatch(key)] == []
    await stage.still_chatting()


async def test_a_room_name_with_a_trailing_newline_is_not_the_room(stage: Stage) -> None:
    """``$`` in a pattern also matches before a final newline: the name must still not be
    taken for the room's."""
    client = await stage.client(await stage.api.register(), join=False)
    answer = await client.call("join", {"room": stage.room + "\n"})
    assert answer["ok"] is False and answer["error"]["code"] in {"bad_request", "not_found"}, answer
    await stage.still_chatting()


# -- size, floods and clients that do not read ---------------------------------------------------


async def test_a_packet_over_max_event_bytes_closes_that_connection(stage: Stage) -> None:
    raw = await stage.raw()
    assert (await raw.connect()).startswith("40")
    await raw.emit("join", {"room": stage.room})
    await raw.emit("send", {"room": stage.room, "text": "x" * MAX_EVENT_BYTES})
    assert await raw.closed() == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await stage.still_chatting()


async def test_a_flood_from_a_socketio_client_is_cut_off(stage: Stage) -> None:
    flooder = await stage.client(await stage.api.register())
    for _ in range(3000):
        await flooder.sio.emit("leave", {"room": "live:nowhere"})
    await stage.still_chatting()  # while the node works through the flood
    await flooder.wait_for("error", lambda e: e["code"] == "flood")
    await eventually(lambda: not flooder.sio.connected, lambda: "the flooder to be disconnected")
    # Told at most once a second, not once per refused event (which would flood it back).
    assert len([e for e in flooder.events("error") if e["code"] == "flood"]) <= 3
    await stage.still_chatting()


async def test_a_flooder_that_ignores_its_disconnect_is_dropped(stage: Stage) -> None:
    """Socket.IO's disconnect (``41``) only asks a client to go: one that goes on sending has
    its connection closed."""
    flooder = await stage.raw()
    assert (await flooder.connect()).startswith("40")
    event = "42" + json.dumps(["leave", {"room": "live:nowhere"}])
    with contextlib.suppress(ConnectionError):  # dropped mid-flood: the rest came after the disconnect
        for _ in range(3000):
            await flooder.send(event)
    await stage.still_chatting()  # while the node works through the flood
    while (packet := await flooder.receive()) not in ("41", None):
        pass
    if packet == "41":
        with contextlib.suppress(ConnectionError):
            await flooder.send(event)  # as if nothing had happened
    await flooder.closed()
    errors = [json.loads(received[2:])[1] for received in flooder.received
              if isinstance(received, str) and received.startswith('42["error"')]
    assert errors and {e["code"] for e in errors} == {"flood"}, errors
    await stage.still_chatting()


async def test_a_client_that_never_reads_is_dropped_and_queues_stay_bounded(strict_stage: Stage) -> None:
    """A client joins a busy room and stops reading (answering heartbeats blindly, so only the
    watchdog can tell): once its queue passes ``max_queued_packets``, its TCP connection is
    aborted. No queue ever holds more than that plus what arrives between two watchdog rounds."""
    stage = strict_stage
    chat = stage.node.node.chat
    assert chat is not None
    assert (await stage.speaker.call("set_rules", {"room": stage.room, "rate": "10000 per second"}))["ok"]
    slow = await stage.raw()
    assert (await slow.connect()).startswith("40")
    await slow.emit("join", {"room": stage.room}, ack=1)
    await slow.next_packet(lambda p: p.startswith("431"))
    slow.stop_reading()
    heartbeats = asyncio.create_task(slow.answer_heartbeats_blindly(0.3))
    dropped_before = _dropped("slow")
    sent_at: list[float] = []
    peak = 0
    deadline = time.monotonic() + 60
    try:
        while slow.opened["sid"] in chat.sio.eio.sockets:
            assert time.monotonic() < deadline, f"still connected after {len(sent_at)} messages"
            first = len(sent_at)
            answers = await asyncio.gather(*(
                stage.speaker.send(stage.room, f"{first + i} " + "x" * 8000) for i in range(10)
            ))
            assert all(answer["ok"] for answer in answers), answers
            sent_at += [time.monotonic()] * 10
            peak = max(peak, *(sock.queue.qsize() for sock in chat.sio.eio.sockets.values()))
    finally:
        heartbeats.cancel()
        await asyncio.gather(heartbeats, return_exceptions=True)
    assert _dropped("slow") == dropped_before + 1  # by the watchdog, not by a heartbeat
    between_rounds = max(len([t for t in sent_at if start <= t < start + 2.0]) for start in sent_at)
    assert peak <= STRICT_CHAT["max_queued_packets"] + between_rounds + 5, (peak, between_rounds)
    heard = stage.bystander.events
    await eventually(lambda: len(heard("message")) == len(sent_at),
                     lambda: f"the bystander to hear {len(sent_at)} messages, not {len(heard('message'))}")
    await eventually(lambda: slow.opened["sid"] not in chat._websockets,
                     lambda: "the watchdog to forget the slow client's transport")
    await stage.still_chatting()


async def test_a_client_that_stops_answering_heartbeats_is_closed_for_good(strict_stage: Stage) -> None:
    """Engine.IO closes a session whose heartbeat times out, but goes on reading its WebSocket:
    what the client sends after that must leave nothing behind (a connect would)."""
    stage = strict_stage
    chat = stage.node.node.chat
    assert chat is not None
    silent = await stage.raw()
    assert (await silent.connect()).startswith("40")
    sid = silent.opened["sid"]
    session = chat.sio.eio.sockets[sid]
    deadline = time.monotonic() + 10
    while not session.closed:
        assert time.monotonic() < deadline, "the silent session is still open"
        await silent.send('42["join",{"room":"live:nowhere"}]')
        await asyncio.sleep(0.05)
    for _ in range(5):  # the WebSocket outlives the session by up to ping_interval + ping_timeout
        try:
            await silent.send("40")
        except ConnectionError:
            break
        await asyncio.sleep(0.05)
    assert [eio for _, eio in chat.sio.manager.get_participants("/", None) if eio == sid] == []
    await stage.still_chatting()


# -- auth at connect -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Someone with a real account, and the node whose key signs access tokens."""

    user_id: int
    node: RunningNode

    def claims(self) -> dict[str, Any]:
        """What a forger would like to be: this user, as an admin."""
        now = int(time.time())
        return {"sub": str(self.user_id), "role": "admin", "iat": now, "exp": now + 600,
                "jti": uuid.uuid4().hex}

    def expired(self) -> str:
        key = load_secret_key(self.node.node.settings)
        return AccessTokens.of_secret(key, 60).issue(Principal(self.user_id, Role.VIEWER),
                                                     now=time.time() - 3600).token


BAD_AUTH = [
    pytest.param(lambda who: "not an object", "bad_auth", id="string"),
    pytest.param(lambda who: ["token"], "bad_auth", id="list"),
    pytest.param(lambda who: True, "bad_auth", id="true"),
    pytest.param(lambda who: {"token": 123}, "bad_auth", id="token-number"),
    pytest.param(lambda who: {"token": None}, "bad_auth", id="token-null"),
    pytest.param(lambda who: {"token": ""}, "bad_auth", id="token-empty"),
    pytest.param(lambda who: {"token": ["a.b.c"]}, "bad_auth", id="token-list"),
    pytest.param(lambda who: {"token": "x" * 5000}, "bad_auth", id="token-5000-chars"),
    pytest.param(lambda who: {"token": "\ud800"}, "bad_auth", id="token-lone-surrogate"),
    pytest.param(lambda who: {"token": "é.é.é"}, "bad_auth", id="token-not-ascii"),
    pytest.param(lambda who: {"token": "not.a.jwt"}, "invalid_token", id="token-garbage"),
    pytest.param(lambda who: {"token": jwt.encode(who.claims(), b"not the key" * 4, algorithm="HS256")},
                 "invalid_token", id="forged-signature"),
    pytest.param(lambda who: {"token": jwt.encode(who.claims(), None, algorithm="none")},
                 "invalid_token", id="alg-none"),
    pytest.param(lambda who: {"token": who.expired()}, "token_expired", id="expired"),
]


@pytest.mark.parametrize(("auth", "code"), BAD_AUTH)
async def test_bad_auth_is_refused_with_a_code(
    stage: Stage, auth: Callable[[Identity], object], code: str
) -> None:
    claims = jwt.decode(stage.owner.access, options={"verify_signature": False})
    raw = await stage.raw()
    answer = await raw.connect(auth(Identity(int(claims["sub"]), stage.node)))
    assert answer.startswith("44"), answer
    refusal = json.loads(answer[2:])
    assert refusal["data"] == {"code": code} and refusal["message"], refusal
    await stage.still_chatting()


async def test_an_auth_payload_over_max_event_bytes_closes_that_connection(stage: Stage) -> None:
    raw = await stage.raw()
    await raw.send("40" + json.dumps({"token": "x" * 100_000}))
    assert await raw.closed() == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await stage.still_chatting()
