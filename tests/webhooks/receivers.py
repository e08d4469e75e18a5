"""Webhook receivers for the tests: real HTTP servers on loopback (aiohttp), each answering as a
test tells it (a status, a hang, an endless body), and raw TCP servers for what no HTTP server
would send (garbage, a header too long). Every request is kept, in order."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

SECRET = "whsec_" + "0123456789abcdef" * 2
"""The signing secret the tests configure (at least 32 characters)."""


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    """time.monotonic() when it arrived."""

    @property
    def delivery(self) -> str:
        return self.headers["Tributary-Delivery"]

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


Behaviour = Callable[[web.Request, int], Awaitable[web.StreamResponse]]
"""``(request, its number from 0) → answer``."""


def answer(*statuses: int, text: str = "") -> Behaviour:
    """Answer the n-th request with ``statuses[n]``, then keep answering the last one."""

    async def respond(_request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=statuses[min(n, len(statuses) - 1)], text=text)

    return respond


def hang_first(released: asyncio.Event) -> Behaviour:
    """Hold the first request until ``released`` (or the client hangs up), answer 200 after."""

    async def respond(_request: web.Request, n: int) -> web.StreamResponse:
        if n == 0:
            await released.wait()
        return web.Response(status=200)

    return respond


def hang_forever() -> Behaviour:
    async def respond(_request: web.Request, _n: int) -> web.StreamResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return respond


def endless_body(status: int, client_left: asyncio.Event) -> Behaviour:
    """Answer ``status`` with a body that never ends; ``client_left`` is set when the client
    closes the connection (the write fails, or the handler is cancelled)."""

    async def respond(request: web.Request, _n: int) -> web.StreamResponse:
        response = web.StreamResponse(status=status)
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            while True:
                await response.write(chunk)
        finally:
            client_left.set()

    return respond


class Receiver:
    """An HTTP endpoint at a path of its own (ports are reused between tests; paths are not,
    so a delivery left over from an earlier test never reaches this one)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[Received] = []
        self.path = f"/hook-{uuid.uuid4().hex[:8]}"
        self.url = ""
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}{self.path}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        async with self._arrived:
            n = len(self.requests)
            self.requests.append(Received(dict(request.headers), body, time.monotonic()))
            self._arrived.notify_all()
        return await self.behaviour(request, n)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests, once they have arrived."""
        return (await self.matching(lambda _request: True, count, timeout))[:count]

    async def matching(
        self, check: Callable[[Received], bool], count: int = 1, timeout: float = 10.0
    ) -> list[Received]:
        """Every request ``check`` accepts, once there are at least ``count``."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len([r for r in self.requests if check(r)]) >= count)
        return [r for r in self.requests if check(r)]


@asynccontextmanager
async def raw_server(reply: bytes) -> AsyncIterator[str]:
    """A TCP server that reads a little, writes ``reply`` and closes: an endpoint URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(1024)
            writer.write(reply)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/raw-{uuid.uuid4().hex[:8]}"
    finally:
        server.close()
        await server.wait_closed()


def refused_url() -> str:
    """An endpoint where nothing listens: the port was bound, then let go."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody-{uuid.uuid4().hex[:8]}"
