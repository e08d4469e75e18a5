"""The web UI's client, socket.io-client from npm under Node, against a real chat node.

The other chat tests use python-socketio on both ends, which cannot catch a server that only
python-socketio understands (a connect-error shape, an acknowledgement framing, text encoding
between UTF-16 JavaScript strings and Python). Here ``js/chat_client.mjs`` runs in a ``node``
process, driven one command at a time over stdin and reporting every event and acknowledgement
as a JSON line, next to a Python client in the same room.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.chat.conftest import ChatClients, live_room
from tests.support.api_client import Api
from tests.support.nodes import RunningNode

SCRIPT = Path(__file__).parent / "js" / "chat_client.mjs"
CLIENT_PACKAGE = Path(__file__).parents[2] / "web" / "node_modules" / "socket.io-client"
STEP_SECONDS = 10.0
"""The longest any one step may take: a hung node process fails the test instead of hanging it."""
LIVE_ID = re.compile(r"^(\d+)-\d+$")
HTML = '<img src=x onerror=alert(1)> <b>&amp;</b> "quoted" \'single\' 👩‍👩‍👧'

Line = dict[str, Any]


def node_path() -> str:
    path = shutil.which("node")
    if path is None:
        raise RuntimeError("Node.js is not installed: run ./dev.sh test")
    if not CLIENT_PACKAGE.is_dir():
        raise RuntimeError("socket.io-client is not installed: run npm ci --prefix web (./dev.sh test does)")
    return path


class NodeChatter:
    """One ``node chat_client.mjs`` process: commands in on stdin, JSON lines out on stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[Line] = []

    async def command(self, op: str, **fields: Any) -> int:
        """Send a command; the number of lines seen before it, where its answer starts."""
        assert self.process.stdin is not None
        start = len(self.lines)
        self.process.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        await asyncio.wait_for(self.process.stdin.drain(), STEP_SECONDS)
        return start

    async def expect(self, what: str, match: Callable[[Line], bool], *, since: int = 0) -> Line:
        """The first line from ``since`` on (already printed or still to come) that
        ``match``es; ``what`` names it in the failure."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + STEP_SECONDS
        checked = since
        while True:
            for line in self.lines[checked:]:
                if match(line):
                    return line
            checked = max(checked, len(self.lines))
            try:
                raw = await asyncio.wait_for(self.process.stdout.readline(), deadline - time.monotonic())
            except TimeoutError:
                last = self.lines[-5:]
                raise AssertionError(f"no {what} within {STEP_SECONDS} s; last lines: {last}") from None
            if not raw:
                raise AssertionError(f"node exited while waiting for {what}: {await self._stderr()}")
            self.lines.append(json.loads(raw))

    async def event(self, name: str, match: Callable[[Any], bool] = lambda _: True) -> Any:
        """The data of the first ``name`` event the server sent that ``match``es."""
        def wanted(line: Line) -> bool:
            return line["type"] == "event" and line["event"] == name and match(line["data"])

        return (await self.expect(f"{name!r} event", wanted))["data"]

    async def connect(self, http: str, token: str | None = None, *, websocket_only: bool = True) -> Line:
        """The ``connect`` or ``connect_error`` line: how the server answered."""
        fields: dict[str, Any] = {"url": http}
        if token is not None:
            fields["token"] = token
        if websocket_only:
            fields["transports"] = ["websocket"]
        since = await self.command("connect", **fields)
        return await self.expect(
            "connection", lambda line: line["type"] in ("connect", "connect_error"), since=since
        )

    async def emit(self, event: str, data: Any) -> Any:
        """The server's acknowledgement of ``event``."""
        since = await self.command("emit", event=event, data=data)
        line = await self.expect(
            f"{event!r} acknowledgement",
            lambda line: line["type"] == "ack" and line["event"] == event,
            since=since,
        )
        assert "error" not in line, line
        return line["data"]

    async def close(self) -> None:
        """Ask the client to disconnect and exit, collect what it printed last, and check it
        exited cleanly."""
        await self.command("close")
        try:
            out, err = await asyncio.wait_for(self.process.communicate(), STEP_SECONDS)
        except TimeoutError:
            raise AssertionError(f"node did not exit after close; last lines: {self.lines[-5:]}") from None
        self.lines += [json.loads(raw) for raw in out.splitlines()]
        assert self.process.returncode == 0, err.decode(errors="replace")

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), STEP_SECONDS)

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        return (await asyncio.wait_for(self.process.stderr.read(), STEP_SECONDS)).decode(errors="replace")


JsClients = Callable[[], Awaitable[NodeChatter]]


@pytest.fixture
async def js_chatter() -> AsyncIterator[JsClients]:
    """``await js_chatter()``: a running node client (not yet connected), killed after the test."""
    node = node_path()
    started: list[NodeChatter] = []

    async def start() -> NodeChatter:
        process = await asyncio.create_subprocess_exec(
            node, str(SCRIPT),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            limit=1 << 20,  # a join's acknowledgement carries 50 messages of history
        )
        started.append(NodeChatter(process))
        return started[-1]

    yield start
    for chatter in started:
        await chatter.kill()


def assert_live_message(
    message: dict[str, Any], room: str, author_name: str, badge: str | None, text: str
) -> None:
    """A live message as docs/chat.md describes it: a Redis stream id stamped with the server's
    clock, the author as the catalog knows them."""
    now_ms = time.time() * 1000
    assert set(message) == {"id", "room", "author", "text", "time", "timestamp", "thread"}, message
    stamp = LIVE_ID.match(message["id"])
    assert stamp is not None and int(stamp[1]) == message["time"], message
    assert abs(message["time"] - now_ms) < 60_000, message
    assert message["room"] == room
    assert message["author"]["display_name"] == author_name
    assert message["author"]["badge"] == badge
    assert message["text"] == text
    assert message["timestamp"] is None and message["thread"] is None


async def test_node_and_python_clients_chat_in_one_room(
    api: Api, chat_node: RunningNode, chatter: ChatClients, js_chatter: JsClients
) -> None:
    """Both ways, whole payloads compared: the JavaScript client must see exactly what the
    Python one sees (ids, the server's time, authors and badges), and the join's answer."""
    owner = await api.register(creator=True, display_name="Owner (Python)")
    viewer = await api.register(display_name="Zoë (Node)")
    room = await live_room(api, owner)
    py = await chatter(owner)
    await py.join(room)
    earlier = (await py.send(room, "before Node came"))["message"]

    js = await js_chatter()
    connected = await js.connect(chat_node.http, viewer.access)
    assert connected["type"] == "connect" and connected["transport"] == "websocket", connected
    joined = await js.emit("join", {"room": room})
    assert joined["ok"] and joined["room"] == room, joined
    assert joined["history"] == [earlier]
    assert joined["viewers"] == 2  # the Python client and this one
    assert joined["pinned"] is None
    you = dict(joined["you"])
    assert isinstance(you.pop("id"), int), joined["you"]
    assert you == {
        "signed_in": True, "username": viewer.username, "badge": None, "moderator": False,
        "banned": False, "timed_out_until": None,
    }

    # Node → Python
    sent = await js.emit("send", {"room": room, "text": "hello from Node"})
    assert sent["ok"], sent
    assert_live_message(sent["message"], room, "Zoë (Node)", None, "hello from Node")
    assert sent["message"]["author"]["username"] == viewer.username
    assert await py.wait_for("message", lambda m: m["id"] == sent["message"]["id"]) == sent["message"]
    assert await js.event("message", lambda m: m["id"] == sent["message"]["id"]) == sent["message"]

    # Python → Node
    answer = await py.send(room, "hello from Python")
    assert answer["ok"], answer
    heard = await js.event("message", lambda m: m["id"] == answer["message"]["id"])
    assert heard == answer["message"]
    assert_live_message(heard, room, "Owner (Python)", "owner", "hello from Python")
    assert heard["author"]["username"] == owner.username

    await js.close()
    assert js.lines[-1] == {"type": "disconnect", "reason": "io client disconnect"}


async def test_polling_upgrades_to_websocket(
    api: Api, chat_node: RunningNode, chatter: ChatClients, js_chatter: JsClients
) -> None:
    """socket.io-client's default transports: HTTP long-polling first, then the upgrade to a
    WebSocket (the path the server's watchdog learns a socket's transport from)."""
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    py = await chatter(owner)
    await py.join(room)

    js = await js_chatter()
    connected = await js.connect(chat_node.http, owner.access, websocket_only=False)
    assert connected["type"] == "connect", connected
    # An upgrade is reported only for a connection that opened on polling; it may come before
    # or after the Socket.IO connect, so the connect line's transport is either.
    upgrade = await js.expect("upgrade", lambda line: line["type"] == "upgrade")
    assert upgrade == {"type": "upgrade", "transport": "websocket"}
    assert (await js.emit("join", {"room": room}))["ok"]
    sent = await js.emit("send", {"room": room, "text": "after the upgrade"})
    assert sent["ok"], sent
    assert await py.wait_for("message", lambda m: m["id"] == sent["message"]["id"]) == sent["message"]
    await js.close()


@pytest.mark.parametrize(("token", "code"), [("not-a-token", "invalid_token"), ("", "bad_auth")])
async def test_a_bad_token_is_refused_at_connect(
    chat_node: RunningNode, js_chatter: JsClients, token: str, code: str
) -> None:
    """socket.io-client turns a refused CONNECT into ``connect_error`` with ``data``: the code a
    web page acts on (sign in again) must arrive there, not only the message."""
    js = await js_chatter()
    refused = await js.connect(chat_node.http, token)
    assert refused["type"] == "connect_error", refused
    assert refused["data"] == {"code": code}
    assert refused["message"]
    await js.close()


async def test_anonymous_node_client_reads_but_may_not_send(
    api: Api, chat_node: RunningNode, chatter: ChatClients, js_chatter: JsClients
) -> None:
    """A page without a token (no ``auth`` at all) may watch the chat; its send is refused both
    as the acknowledgement and as the ``error`` event."""
    owner = await api.register(creator=True)
    room = await live_room(api, owner)
    py = await chatter(owner)
    await py.join(room)

    js = await js_chatter()
    assert (await js.connect(chat_node.http))["type"] == "connect"
    joined = await js.emit("join", {"room": room})
    assert joined["ok"] and joined["you"] == {"signed_in": False}, joined

    refused = await js.emit("send", {"room": room, "text": "let me in"})
    assert refused["ok"] is False, refused
    assert refused["error"]["event"] == "send" and refused["error"]["code"] == "sign_in_required"
    assert await js.event("error") == refused["error"]

    answer = await py.send(room, "only signed-in people talk")
    assert await js.event("message", lambda m: m["id"] == answer["message"]["id"]) == answer["message"]
    await js.close()


async def test_html_is_delivered_as_plain_text_both_ways(
    api: Api, chat_node: RunningNode, chatter: ChatClients, js_chatter: JsClients
) -> None:
    """Markup stays text, unescaped and unaltered, between a UTF-16 JavaScript string and a
    Python one (the emoji with joiners covers surrogate pairs on the JavaScript side)."""
    owner = await api.register(creator=True)
    viewer = await api.register()
    room = await live_room(api, owner)
    py = await chatter(owner)
    await py.join(room)
    js = await js_chatter()
    assert (await js.connect(chat_node.http, viewer.access))["type"] == "connect"
    assert (await js.emit("join", {"room": room}))["ok"]

    sent = await js.emit("send", {"room": room, "text": HTML})
    assert sent["ok"] and sent["message"]["text"] == HTML, sent
    heard_by_py = await py.wait_for("message", lambda m: m["id"] == sent["message"]["id"])
    assert heard_by_py["text"].encode() == HTML.encode()

    answer = await py.send(room, HTML)
    assert answer["ok"], answer
    heard_by_js = await js.event("message", lambda m: m["id"] == answer["message"]["id"])
    assert heard_by_js["text"].encode() == HTML.encode()
    await js.close()
