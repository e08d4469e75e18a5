"""Engine.IO frames and Socket.IO packets as the chat accepts them, vetted before python-engineio
and python-socketio act on them: both trust their clients more than a server on the internet
can (see each class). Hooked in by :class:`chat.server.ChatServer`.
"""

from __future__ import annotations

from typing import Any

import socketio
from aiohttp import WSCloseCode, web
from engineio.async_drivers.aiohttp import WebSocket as EngineIoWebSocket
from socketio import packet

from chat.refusals import Refused, bad_request

_ENGINE_IO_PACKET_TYPES = frozenset("0123456")
_OWN_HANDLERS = frozenset({"connect", "disconnect", "*"})
"""Events python-socketio would hand to the server's own handlers if a client named them."""


class BadPacket(Exception):
    """A Socket.IO packet refused before python-socketio acts on it; ``event`` is the event it
    names, if it names one."""

    def __init__(self, refusal: Refused, event: str = "") -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
        self.event = event


class ChatPacket(socketio.packet.Packet):
    """Socket.IO packets as the chat accepts them (python-socketio's ``serializer`` hook).

    python-socketio's own decoding lets garbage (truncated JSON, an event that is not
    ``[name, ...]``, a packet type clients never send) escape as a logged traceback the client
    never hears of; it hands an event named ``connect``, ``disconnect`` or ``*`` to those very
    handlers (``disconnect`` unregisters the client while it stays in its rooms); and it keeps
    binary attachments, up to ten billion of them per packet, for a chat with no binary events.
    """

    def decode(self, encoded_packet: str | bytes) -> int:
        try:
            super().decode(encoded_packet)
        except (ValueError, TypeError, RecursionError):  # JSONDecodeError is a ValueError
            raise BadPacket(bad_request("not a Socket.IO packet")) from None
        if self.packet_type in (packet.CONNECT, packet.DISCONNECT):
            return 0
        if self.packet_type != packet.EVENT:
            raise BadPacket(bad_request("clients send connect, disconnect and (not binary) events only"))
        if self.namespace not in (None, "/"):
            raise BadPacket(bad_request(f"there is no namespace {self.namespace[:40]!r}"))
        if not (isinstance(self.data, list) and self.data and isinstance(self.data[0], str)):
            raise BadPacket(bad_request('an event is ["name", data]'))
        name = self.data[0]
        if name in _OWN_HANDLERS:
            raise BadPacket(Refused("unknown_event", f"there is no event {name!r}"), name)
        return 0


class EngineWebSocket(EngineIoWebSocket):
    """Engine.IO's aiohttp WebSocket, without compression, closing the connection at a text
    frame that is not an Engine.IO packet.

    Engine.IO decodes a frame outside its error handling: an empty frame, or one that does not
    start with a packet type, escapes its receive loop and leaves the session, its writer task
    and its heartbeat behind until the heartbeat times out. Reported as the end of the
    connection, such a frame ends the session at once, through Engine.IO's own clean-up.

    Browsers offer permessage-deflate and aiohttp accepts it by default, giving every
    connection a compressor of its own: ~170 instead of ~35 MiB per 1,000 clients, and more CPU
    per delivery (bench/RESULTS.md, chat), for chat messages of a few hundred bytes.
    """

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock

    async def wait(self) -> str | bytes | None:
        data = await super().wait()
        if isinstance(data, str) and data[:1] not in _ENGINE_IO_PACKET_TYPES:
            await self._sock.close(code=WSCloseCode.PROTOCOL_ERROR, message=b"not an Engine.IO packet")
            return None
        return data
