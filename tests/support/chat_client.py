"""A real Socket.IO client (python-socketio's) for chat tests: it records every event it
receives, so a test can wait for the one it expects, in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import socketio


class ChatClient:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, request_timeout=10)
        self.received: list[tuple[str, Any]] = []
        self._arrived = asyncio.Event()
        self._disconnected = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("disconnect", self._disconnected.set)

    async def _record(self, event: str, *args: Any) -> None:
        self.received.append((event, args[0] if args else None))
        self._arrived.set()

    async def connect(self, http: str, token: str | None = None, *, websocket_only: bool = True) -> ChatClient:
        await self.sio.connect(
            http,
            auth={"token": token} if token else None,
            transports=["websocket"] if websocket_only else ["polling", "websocket"],
            socketio_path="socket.io",
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        """Emit with an acknowledgement; the server's answer."""
        return await self.sio.call(event, data, timeout=10)

    async def join(self, room: str) -> dict[str, Any]:
        answer = await self.call("join", {"room": room})
        assert answer["ok"], answer
        return answer

    async def send(self, room: str, text: str, **extra: Any) -> dict[str, Any]:
        return await self.call("send", {"room": room, "text": text, **extra})

    def events(self, name: str) -> list[Any]:
        return [data for event, data in self.received if event == name]

    async def wait_for(
        self, name: str, match: Callable[[Any], bool] = lambda _: True, timeout: float = 10.0
    ) -> Any:
        """The first ``name`` event (received so far or later) that ``match``es."""
        deadline = time.monotonic() + timeout
        while True:
            for event, data in self.received:
                if event == name and match(data):
                    return data
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name!r} event matched within {timeout} s; got {self.received[-5:]}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                pass

    async def wait_for_disconnect(self, timeout: float = 10.0) -> None:
        """Until the connection is gone (the server closed it, or its node died)."""
        await asyncio.wait_for(self._disconnected.wait(), timeout)

    async def close(self) -> None:
        await self.sio.disconnect()
        await self.sio.shutdown()
