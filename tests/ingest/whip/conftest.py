"""WHIP test kit: real nodes with WHIP settings of the test's choosing, an HTTP client, and a
check that nothing a session owned (tasks, encode threads) outlives it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.nodes import RunningNode, node_factory

WhipNodes = Callable[..., Awaitable[RunningNode]]


@pytest.fixture
async def start_node(services: Any, tmp_path: Path) -> AsyncIterator[WhipNodes]:
    """Keyword arguments are WhipSettings fields."""
    async with node_factory(services, tmp_path) as start:
        yield lambda **whip: start(whip=whip)


def encode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("whip-encode-")]


def webrtc_tasks(baseline: set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Running tasks, not in ``baseline``, of WHIP sessions (named ``whip-*``) and of
    aiortc/aioice (by their coroutines' code)."""
    found = []
    for task in asyncio.all_tasks() - baseline:
        code = getattr(task.get_coro(), "cr_code", None)
        module = code.co_filename if code is not None else ""
        if not task.done() and (task.get_name().startswith("whip-") or "/aiortc/" in module or "/aioice/" in module):
            found.append(task)
    return found


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(autouse=True)
async def nothing_left_behind() -> AsyncIterator[None]:
    """Every WHIP test ends (its nodes stopped, its clients closed) with no session task, no
    aiortc/aioice task and no encode thread still running."""
    baseline = asyncio.all_tasks()
    yield
    await wait_until(lambda: not webrtc_tasks(baseline) and not encode_threads(), 5, "WebRTC tasks to end")
