"""One real node (real PostgreSQL and Redis, chat at /socket.io) shared by the chat tests, an
API client to make accounts, streams and videos, and chat clients that are closed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.support.api_client import Account, Api, api_for
from tests.support.chat_client import ChatClient
from tests.support.nodes import RunningNode, node_factory

ChatClients = Callable[..., Awaitable[ChatClient]]


@pytest.fixture(scope="package")
async def chat_node(services, tmp_path_factory) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path_factory.mktemp("chat")) as start:
        yield await start()


@pytest.fixture
async def api(chat_node) -> AsyncIterator[Api]:
    async with api_for(chat_node) as api:
        yield api


@pytest.fixture
async def chatter(chat_node) -> AsyncIterator[ChatClients]:
    """``await chatter(account=None, http=None)``: a connected client, closed after the test."""
    opened: list[ChatClient] = []

    async def connect(account: Account | None = None, http: str | None = None) -> ChatClient:
        client = ChatClient()
        opened.append(client)
        return await client.connect(http or chat_node.http, account.access if account else None)

    yield connect
    for client in opened:
        await client.close()


async def live_room(api: Api, owner: Account) -> str:
    """A live stream on ``owner``'s channel; its room."""
    name = f"c{uuid.uuid4().hex[:12]}"
    got = await api.call("POST", "/live-streams", json={"name": name}, account=owner)
    assert got.status == 201, got.body
    return f"live:{name}"
