"""One real node (real PostgreSQL and Redis, local storage in its data directory) shared by the
recording and VOD tests, an API client, and recordings made from real media."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from catalog.live_streams import LiveStream, LiveStreamCatalog
from catalog.recordings import Recordings
from tests.support.api_client import Api, api_for
from tests.support.nodes import RunningNode, node_factory
from vod.recording import Recorder
from vod.storage import LocalStorage


@pytest.fixture(scope="package")
async def vod_node(services, tmp_path_factory) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path_factory.mktemp("vod")) as start:
        yield await start()


@pytest.fixture
async def api(vod_node) -> AsyncIterator[Api]:
    async with api_for(vod_node) as api:
        yield api


@pytest.fixture
def recordings(vod_node) -> Recordings:
    return Recordings(vod_node.node.pool)


@pytest.fixture
def node_storage(vod_node) -> LocalStorage:
    """The storage the node serves from."""
    return LocalStorage(vod_node.node.settings.data_dir / "storage")


@pytest.fixture
def recorder(node_storage, recordings) -> Recorder:
    """Records into the node's storage and catalog, as the node's own recorder does."""
    return Recorder(node_storage, recordings, queue_bytes=1 << 26)


@pytest.fixture
def cli_stream(vod_node) -> Callable[..., Awaitable[LiveStream]]:
    """Makes streams without a channel, as ``tributary stream create`` does."""

    async def make(title: str = "") -> LiveStream:
        created = await LiveStreamCatalog(vod_node.node.pool).create(f"v{uuid.uuid4().hex[:12]}", title)
        return created.stream

    return make
