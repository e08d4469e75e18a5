"""Socket.IO spoken by hand over one WebSocket (Engine.IO 4, Socket.IO 5), for tests that send
what no real client library would: truncated packets, wrong packet types, binary garbage, or
nothing at all while the server keeps writing.

Packets are plain strings exactly as on the wire (``"40"``, ``'42["join",{...}]'``): the point
is to control every byte. Heartbeats are answered while the test reads, as a browser would.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import aiohttp

PATH = "/socket.io/?EIO=4&transport=websocket"


def _left(deadline: float) -> float:
    """Seconds until ``deadline``, never 0 (which aiohttp reads as "its default timeout")."""
    return max(0.001, deadline - time.monotonic())


class RawSocketIO:
    """One Engine.IO session over a WebSocket; :meth:`open` has read the server's open packet."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, opened: dict[str, Any]) -> None:
        self.ws = ws
        self.opened = opened  # the open packet: sid, pingInterval, maxPayload, ...
        self.received: list[str | bytes] = []
        self._reading = True

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, http: str) -> RawSocketIO:
        ws = await session.ws_connect(
            http + PATH, timeout=aiohttp.ClientWSTimeout(ws_receive=10, ws_close=2), max_msg_size=0
        )
        first = await ws.receive(timeout=10)
        assert first.type is aiohttp.WSMsgType.TEXT and first.data.startswith("0"), first
        return cls(ws, json.loads(first.data[1:]))

    async def send(self, frame: str | bytes) -> None:
        """One WebSocket frame, as is."""
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def connect(self, auth: Any = None) -> str:
        """Connect to the ``/`` namespace; the server's answer (``40{sid}`` or ``44{error}``)."""
        await self.send("40" if auth is None else "40" + json.dumps(auth))
        return await self.next_packet(lambda packet: packet.startswith(("40", "44")))

    async def emit(self, event: str, *args: Any, ack: int | None = None) -> None:
        await self.send("42" + ("" if ack is None else str(ack)) + json.dumps([event, *args]))

    async def receive(self, timeout: float = 10.0) -> str | bytes | None:
        """The next packet from the server, or None once the connection is closed. Pings are
        answered, and not returned."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.ws.receive(timeout=_left(deadline))
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                if message.data == "2":
                    await self.send("3")
                    continue
                self.received.append(message.data)
                return message.data
            return None  # CLOSE, CLOSING, CLOSED or ERROR

    async def next_packet(self, match: Callable[[str], bool], timeout: float = 10.0) -> str:
        """The first text packet (from now on) for which ``match(packet)`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            packet = await self.receive(_left(deadline))
            assert packet is not None, f"closed ({self.ws.close_code}); last packets {self.received[-5:]}"
            if isinstance(packet, str) and match(packet):
                return packet

    async def next_event(self, name: str, timeout: float = 10.0) -> Any:
        """The data of the next ``name`` event the server sends."""
        prefix = "42" + json.dumps([name])[:-1] + ","
        packet = await self.next_packet(lambda p: p.startswith(prefix), timeout)
        return json.loads(packet[2:])[1]

    async def closed(self, timeout: float = 10.0) -> int | None:
        """Wait for the server to end the connection (reading, and dropping, what comes before);
        the WebSocket close code, None if the TCP connection was cut without one."""
        deadline = time.monotonic() + timeout
        while await self.receive(_left(deadline)) is not None:
            pass
        return self.ws.close_code

    async def answer_heartbeats_blindly(self, interval: float) -> None:
        """Send a pong every ``interval`` seconds without reading any ping (what a client that
        never reads can do to look alive), until the connection fails."""
        while True:
            try:
                await self.send("3")
            except ConnectionError:
                return
            await asyncio.sleep(interval)

    def stop_reading(self, receive_buffer: int = 4096) -> None:
        """Never read again: the kernel's receive buffer shrinks to ``receive_buffer`` bytes and
        the transport stops reading, so the server's writes back up into its own buffers."""
        transport = self._transport()
        assert transport is not None, "the connection is closed"
        sock: socket.socket = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        transport.pause_reading()
        self._reading = False

    def _transport(self) -> asyncio.Transport | None:
        connection = self.ws._response.connection
        return None if connection is None else connection.transport

    async def close(self) -> None:
        """The closing handshake; a client that does not read cannot take part in one, and
        cuts its TCP connection instead."""
        if self.ws.closed:
            return
        if not self._reading:
            transport = self._transport()
            if transport is not None:
                transport.abort()
            return
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except (TimeoutError, ConnectionError, aiohttp.ClientError):
            pass  # the server went first
