"""A lean Socket.IO client for load generation: Engine.IO 4 / Socket.IO 5 over one WebSocket.

Thousands of python-socketio ``AsyncClient`` objects do not fit on two cores next to the
servers they measure (each one runs reader, writer and ping tasks through aiohttp's client), so
each connection here is a bare :class:`asyncio.Protocol`: no task, no timer, only callbacks
when bytes arrive. It speaks what a browser running ``socket.io-client`` with
``transports: ["websocket"]`` speaks, and nothing else:

* WebSocket (RFC 6455) straight to ``/socket.io/?EIO=4&transport=websocket`` (no long-polling
  first, so no sticky sessions), offering ``permessage-deflate`` exactly as Chrome and Firefox
  do (``--no-deflate`` in the benchmark leaves it out). The server's compressed frames are
  inflated with one context per connection (context takeover, as negotiated); frames this
  client sends go uncompressed, which the extension allows. Frames are masked with a random key
  as the RFC requires of clients. The server (aiohttp) never fragments a message, so a
  fragmented one is treated as a protocol error.
* Engine.IO: the open packet, then the heartbeat: the server pings (``2``) every
  ``pingInterval``; each ping is answered with a pong (``3``) at once, as the real client does.
* Socket.IO: ``40`` with the ``auth`` object (``{"token": ...}``) or without one (anonymous),
  then one ``join`` with an acknowledgement id; events the server sends (``42[...]``) go to the
  listener as raw bytes with the arrival time, so it decides what to parse. Acknowledgements of
  the client's own events (``43<id>[...]``) go to the listener too.

Times are ``time.monotonic()`` (CLOCK_MONOTONIC, system-wide on Linux) taken once per read
from the socket, before any frame in it is parsed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
import zlib
from typing import Any, Protocol, cast

PATH = "/socket.io/?EIO=4&transport=websocket"
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_INFLATE_TAIL = b"\x00\x00\xff\xff"
_MAX_HEAD = 16 * 1024
_JOIN_ACK = 0


class Listener(Protocol):
    """What a crowd of clients hears: events and answers to its own events."""

    def event(self, client: SocketIOClient, packet: bytes, now: float) -> None:
        """A ``42[...]`` packet from the server (``packet`` still carries the ``42`` prefix)."""

    def ack(self, client: SocketIOClient, ack_id: int, packet: bytes, now: float) -> None:
        """The acknowledgement of event ``ack_id`` (``packet`` is the whole ``43<id>[...]``)."""


class ClientError(Exception):
    """The connection or the Socket.IO handshake failed; the message says where."""


class SocketIOClient(asyncio.Protocol):
    """One connection: connect, authenticate (or not), join one room, then listen and answer
    pings until closed. ``ready`` resolves once the join was acknowledged with ``ok``."""

    def __init__(self, host: str, port: int, room: str, listener: Listener, *,
                 token: str | None = None, deflate: bool = True, tag: Any = None) -> None:
        self.host = host
        self.port = port
        self.room = room
        self.tag = tag
        self.started_at = 0.0
        self.joined_at: float | None = None
        self.closed_at: float | None = None
        self.pings = 0
        self.last_ping_at: float | None = None
        self._listener = listener
        self._token = token
        self._deflate_offered = deflate
        self._inflater: Any = None  # zlib decompress object once permessage-deflate is agreed
        self._inflate_takeover = True
        self._key = base64.b64encode(os.urandom(16)).decode()
        self._head: bytes | None = b""  # the HTTP answer until the upgrade is done, then None
        self._pending = b""
        self._next_ack = _JOIN_ACK + 1
        self._transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- connecting ---------------------------------------------------------------------------

    async def connect(self, timeout: float) -> None:
        """TCP connect, WebSocket upgrade, Engine.IO open, Socket.IO connect and the join, all
        within ``timeout``; raises :class:`ClientError` (or ``OSError``) and closes on failure."""
        loop = asyncio.get_running_loop()
        self.started_at = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(lambda: self, self.host, self.port)
                await asyncio.shield(self.ready)
        except TimeoutError:
            self._give_up()
            raise ClientError(f"not joined within {timeout:g} s") from None
        except BaseException:
            self._give_up()
            raise

    def _give_up(self) -> None:
        """Close, and cancel ``ready`` so a late failure is not an unretrieved exception."""
        if not self.ready.done():
            self.ready.cancel()
        self.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        extensions = ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                      if self._deflate_offered else "")
        self._transport.write((
            f"GET {PATH} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self._key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extensions}\r\n").encode())

    def _upgrade(self, data: bytes) -> bytes | None:
        """Consume the HTTP answer; the bytes after it (WebSocket frames), or None for more."""
        assert self._head is not None
        head = self._head + data
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if len(head) > _MAX_HEAD:
                self._fail("the upgrade answer is too long")
            self._head = head
            return None
        lines = head[:end].decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            self._fail(f"upgrade refused: {lines[0]}")
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(self._key.encode() + _WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            self._fail("bad Sec-WebSocket-Accept")
            return None
        extension = headers.get("sec-websocket-extensions", "")
        if "permessage-deflate" in extension:
            self._inflater = zlib.decompressobj(-15)
            self._inflate_takeover = "server_no_context_takeover" not in extension
        self._head = None
        return head[end + 4:]

    # -- reading ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self._head is not None:
            rest = self._upgrade(data)
            if not rest:
                return
            data = rest
        if self._pending:
            data = self._pending + data
        pos, end = 0, len(data)
        while end - pos >= 2:
            b0, b1 = data[pos], data[pos + 1]
            size, head = b1 & 0x7F, pos + 2
            if size == 126:
                if end - head < 2:
                    break
                size, head = int.from_bytes(data[head:head + 2], "big"), head + 2
            elif size == 127:
                if end - head < 8:
                    break
                size, head = int.from_bytes(data[head:head + 8], "big"), head + 8
            if end - head < size:
                break
            pos = head + size
            self._frame(b0, data[head:pos], now)
            if not self.open:
                return
        self._pending = data[pos:]

    def _frame(self, b0: int, payload: bytes, now: float) -> None:
        opcode = b0 & 0x0F
        if opcode in (1, 2):
            if not b0 & 0x80:
                self._fail("fragmented message (not expected from the server)")
                return
            if b0 & 0x40:
                if self._inflater is None:
                    self._fail("compressed frame without permessage-deflate")
                    return
                if not self._inflate_takeover:
                    self._inflater = zlib.decompressobj(-15)
                payload = self._inflater.decompress(payload + _INFLATE_TAIL)
            self._packet(payload, now)
        elif opcode == 8:  # close: answer it, then the server closes TCP
            self._write_frame(payload[:2], 8)
            self.abort()
        elif opcode == 9:
            self._write_frame(payload, 10)

    def _packet(self, packet: bytes, now: float) -> None:
        """One Engine.IO packet: ``4`` carries Socket.IO; ``2`` is the server's ping."""
        kind = packet[:1]
        if kind == b"4":
            sub = packet[1:2]
            if sub == b"2":
                self._listener.event(self, packet, now)
            elif sub == b"3":
                self._acknowledged(packet, now)
            elif sub == b"0":
                self.send_text("420" + json.dumps(["join", {"room": self.room}], separators=(",", ":")))
            elif sub == b"4":
                self._fail(f"connection refused: {packet[2:200].decode(errors='replace')}")
            elif sub == b"1":
                self.abort()
        elif kind == b"2":
            self.pings += 1
            self.last_ping_at = now
            self.send_text("3")
        elif kind == b"0":
            auth = "" if self._token is None else json.dumps({"token": self._token})
            self.send_text("40" + auth)
        elif kind == b"1":
            self.abort()

    def _acknowledged(self, packet: bytes, now: float) -> None:
        digits = 2
        while digits < len(packet) and 48 <= packet[digits] <= 57:
            digits += 1
        ack_id = int(packet[2:digits])
        if ack_id != _JOIN_ACK:
            self._listener.ack(self, ack_id, packet, now)
            return
        answer = json.loads(packet[digits:])
        if not (isinstance(answer, list) and answer and answer[0].get("ok")):
            self._fail(f"join refused: {packet[digits:200].decode(errors='replace')}")
            return
        self.joined_at = now
        if not self.ready.done():
            self.ready.set_result(None)

    # -- writing ------------------------------------------------------------------------------

    def emit(self, event: str, data: Any) -> int:
        """Send an event asking for an acknowledgement; its id (the listener gets the answer)."""
        ack_id = self._next_ack
        self._next_ack += 1
        self.send_text(f"42{ack_id}" + json.dumps([event, data], separators=(",", ":")))
        return ack_id

    def send_text(self, text: str) -> None:
        self._write_frame(text.encode(), 1)

    def _write_frame(self, payload: bytes, opcode: int) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        size = len(payload)
        if size < 126:
            header = bytes((0x80 | opcode, 0x80 | size))
        elif size < 65536:
            header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
        else:
            header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
        mask = os.urandom(4)
        repeated = (mask * (size // 4 + 1))[:size]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(size, "big")
        self._transport.write(header + mask + masked)

    # -- closing ------------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ClientError(reason))
        self.abort()

    def abort(self) -> None:
        """Drop the connection at once (no close handshake: the benchmark is over or it failed)."""
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.closed_at = time.monotonic()
        if not self.ready.done():
            self.ready.set_exception(ClientError(f"connection lost before the join: {exc!r}"))
