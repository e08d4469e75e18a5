"""Start real Tributary nodes for tests, on ephemeral ports, and stop them afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tributary.node import Node
from tributary.settings import (
    ApiSettings,
    ChatSettings,
    HttpSettings,
    JobSettings,
    LiveSettings,
    RtmpSettings,
    Settings,
    WhipSettings,
)

FAST_API = {
    # Cheap password hashing and limits no test reaches unless it means to.
    "argon2_time_cost": 1,
    "argon2_memory_kib": 1024,
    "auth_rate": "10000/minute",
    "write_rate": "10000/minute",
}


def test_settings(
    services: Any,
    data_dir: Path,
    *,
    api: dict[str, Any] | None = None,
    whip: dict[str, Any] | None = None,
    chat: dict[str, Any] | None = None,
    **live: Any,
) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=services.database_url,
        redis_url=services.redis_url,
        http=HttpSettings(host="127.0.0.1", port=0),
        rtmp=RtmpSettings(host="127.0.0.1", port=0, handshake_timeout=2, idle_timeout=5),
        live=LiveSettings(**{"reconnect_grace": 3.0, **live}),
        api=ApiSettings(**{**FAST_API, **(api or {})}),
        whip=WhipSettings(**(whip or {})),
        chat=ChatSettings(**(chat or {})),
        # A queue of its own: a job is run by this node's worker, never by another test's node
        # (which would not find the upload in its storage).
        jobs=JobSettings(queue_name=f"test-{uuid.uuid4().hex[:12]}"),
    )


class RunningNode:
    def __init__(self, node: Node) -> None:
        self.node = node
        assert node.endpoints is not None
        self.http = f"http://127.0.0.1:{node.endpoints.http_port}"
        self.rtmp = f"rtmp://127.0.0.1:{node.endpoints.rtmp_port}/live"
        self.api = f"{self.http}/api/v1"

    async def new_stream(self) -> tuple[str, str]:
        """A fresh stream; returns (name, key)."""
        assert self.node.streams is not None
        created = await self.node.streams.create(f"t{uuid.uuid4().hex[:12]}")
        return created.stream.name, created.key

    def playlist_url(self, stream: str, rendition: str = "source") -> str:
        return f"{self.http}/live/{stream}/{rendition}/index.m3u8"


NodeFactory = Callable[..., Awaitable[RunningNode]]


@asynccontextmanager
async def node_factory(services: Any, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    started: list[Node] = []

    async def start(
        *,
        api: dict[str, Any] | None = None,
        whip: dict[str, Any] | None = None,
        chat: dict[str, Any] | None = None,
        **live: Any,
    ) -> RunningNode:
        data_dir = tmp_path / f"node{len(started)}"
        node = Node(test_settings(services, data_dir, api=api, whip=whip, chat=chat, **live))
        await node.start()
        started.append(node)
        return RunningNode(node)

    try:
        yield start
    finally:
        for node in reversed(started):
            await node.stop()
