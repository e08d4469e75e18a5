"""The signing secret: generated once into the data directory, so restarts keep sessions valid."""

from __future__ import annotations

import stat

import aiohttp
import pytest
from pydantic import SecretStr

from tests.support import nodes
from tests.support.api_client import Api
from tributary.node import Node
from tributary.secret_key import FILE_NAME, load_secret_key
from tributary.settings import Settings


def test_generated_once_then_read_back(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = load_secret_key(settings)
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600
    assert load_secret_key(settings) == first


def test_configured_secret_wins_and_short_files_are_refused(tmp_path):
    configured = Settings(data_dir=tmp_path, secret_key=SecretStr("k" * 40))
    assert load_secret_key(configured) == b"k" * 40
    assert not (tmp_path / FILE_NAME).exists()
    (tmp_path / FILE_NAME).write_text("short\n")
    with pytest.raises(RuntimeError, match="fewer than 32"):
        load_secret_key(Settings(data_dir=tmp_path))


async def test_sessions_survive_a_restart(services, tmp_path):
    settings = nodes.test_settings(services, tmp_path)
    async with aiohttp.ClientSession() as session:
        node = Node(settings)
        await node.start()
        try:
            running = nodes.RunningNode(node)
            account = await Api(session, running.api, running).register()
        finally:
            await node.stop()
        node = Node(settings)
        await node.start()
        try:
            running = nodes.RunningNode(node)
            api = Api(session, running.api, running)
            assert (await api.call("GET", "/me", account=account)).status == 200
            refreshed = await api.call("POST", "/auth/refresh", json={"refresh_token": account.refresh})
            assert refreshed.status == 200
        finally:
            await node.stop()
