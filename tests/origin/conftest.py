"""A fake packager behind real origin routes on a real aiohttp server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from origin.live_routes import add_live_routes
from packager.live.window import LiveWindow, VariantInfo

PART = 0.2
PARTS_PER_SEGMENT = 10


class FakeStream:
    """Implements ``LiveStreamView`` over real windows; :meth:`publish` plays the packager."""

    def __init__(self, renditions: tuple[str, ...] = ("720p", "360p")) -> None:
        self.windows: dict[str, LiveWindow] = {}
        for name in renditions:
            window = LiveWindow(segment_target=2.0, window_segments=10)
            window.set_init(f"init-{name}".encode(), PART)
            self.windows[name] = window
        self.published = 0

    def rendition(self, name: str) -> LiveWindow | None:
        return self.windows.get(name)

    def variants(self) -> list[VariantInfo]:
        return [
            VariantInfo(
                name=name,
                codecs="avc1.64001f,mp4a.40.2",
                width=1280,
                height=720,
                frame_rate=30.0,
                bandwidth=window.peak_bitrate(),
                average_bandwidth=window.average_bitrate(),
            )
            for name, window in self.windows.items()
        ]

    async def wait_ready(self, timeout: float) -> bool:
        ready = await asyncio.gather(*(w.wait_ready(timeout) for w in self.windows.values()))
        return all(ready)

    def publish(self, parts: int = 1) -> None:
        """Add ``parts`` 0.2 s parts to every rendition, a keyframe every 2 s."""
        for _ in range(parts):
            n = self.published
            for name, window in self.windows.items():
                data = f"{name}:{n};".encode().ljust(64, b".")
                window.add_part(data, PART, n % PARTS_PER_SEGMENT == 0, time.time())
            self.published += 1

    @property
    def main(self) -> LiveWindow:
        return self.windows["720p"]


Serve = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def streams() -> dict[str, FakeStream]:
    return {"live1": FakeStream()}


@pytest.fixture
async def serve(streams: dict[str, FakeStream]) -> AsyncIterator[Serve]:
    """Start the routes on 127.0.0.1:0; keyword arguments go to ``add_live_routes``.

    The connector has no connection limit so a thousand requests can block at once.
    """
    clients: list[TestClient] = []

    async def start(handler_cancellation: bool = True, **options: float) -> TestClient:
        app = web.Application()
        add_live_routes(app, streams.get, **options)
        server = TestServer(app, handler_cancellation=handler_cancellation)
        client = TestClient(server, connector=aiohttp.TCPConnector(limit=0))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()
