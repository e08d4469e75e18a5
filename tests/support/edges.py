"""Start real edge nodes (:class:`edge.node.EdgeNode`) in front of test origins, on ephemeral
ports, sharing the origins' secret key so playback tokens verify."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from edge.node import EdgeNode
from edge.upstream import Origins
from tributary.settings import EdgeSettings, Settings, StorageSettings


class RunningEdge:
    def __init__(self, node: EdgeNode) -> None:
        self.node = node
        self.http = f"http://127.0.0.1:{node.port}"

    @property
    def origins(self) -> Origins:
        """The default origin list (its ``fetches`` counter counts origin requests)."""
        assert self.node.proxy is not None
        return self.node.proxy.origins.default


EdgeFactory = Callable[..., Awaitable[RunningEdge]]


@asynccontextmanager
async def edge_factory(data_dir: Path) -> AsyncIterator[EdgeFactory]:
    """``start(origins, storage=None, **edge_settings)``; ``data_dir`` is the origin's, for its
    secret key, and (unless ``storage`` says otherwise) its local storage, which an edge with
    ``storage_fallback=True`` then reads."""
    started: list[EdgeNode] = []

    async def start(
        origins: Sequence[str], *, storage: StorageSettings | None = None, **edge: Any
    ) -> RunningEdge:
        settings = Settings(
            data_dir=data_dir,
            storage=storage or StorageSettings(),
            edge=EdgeSettings(host="127.0.0.1", port=0, origins=list(origins), **edge),
        )
        node = EdgeNode(settings)
        await node.start()
        started.append(node)
        return RunningEdge(node)

    try:
        yield start
    finally:
        for node in reversed(started):
            await node.stop()
