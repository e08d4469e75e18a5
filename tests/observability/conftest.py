"""One origin (the in-process node: RTMP, WHIP, packager with a one-rung ladder, API, chat) and
one edge in front of it, shared by every observability test; a stream pushed by ffmpeg is
shared by the live tests (``test_live_metrics.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.edges import RunningEdge, edge_factory
from tests.support.nodes import RunningNode, node_factory

RUNG = 180
"""The one encoded rendition (below the 360p test source): the lag of a ladder rung is
measured without spending the machine on a full ladder."""


@pytest.fixture(scope="package")
async def origin(services, tmp_path_factory) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path_factory.mktemp("observability")) as start:
        # A generous max_lag: the rung must not be shed when the suite loads the machine.
        yield await start(ladder={"heights": [RUNG], "max_lag": 5.0})


@pytest.fixture(scope="package")
async def edge(origin: RunningNode) -> AsyncIterator[RunningEdge]:
    async with edge_factory(origin.node.settings.data_dir) as start:
        yield await start([origin.http], health_interval=0.5)
