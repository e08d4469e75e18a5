"""End-to-end tests start real nodes; keyword arguments to ``start_node`` are LiveSettings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.nodes import NodeFactory, node_factory


@pytest.fixture
async def start_node(services: Any, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with node_factory(services, tmp_path) as start:
        yield start
