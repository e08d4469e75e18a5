"""One real node (real PostgreSQL and Redis) shared by the catalog tests, and an API client.

Every catalog test also checks the API never hit an unexpected error (a 500), whatever it sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from structlog.testing import capture_logs

from tests.support.api_client import Api, api_for
from tests.support.nodes import RunningNode, node_factory


@pytest.fixture(autouse=True)
def no_unexpected_errors() -> Iterator[None]:
    with capture_logs() as logs:
        yield
    crashes = [entry for entry in logs if entry["event"] == "api.unexpected_error"]
    assert not crashes, crashes


@pytest.fixture(scope="package")
async def catalog_node(services, tmp_path_factory) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path_factory.mktemp("catalog")) as start:
        yield await start()


@pytest.fixture
async def api(catalog_node) -> AsyncIterator[Api]:
    async with api_for(catalog_node) as api:
        yield api
