"""Webhook tests: real receivers on loopback, real dispatchers, and a PostgreSQL database of
their own (scratch, migrated), so no other test's node hands these tests' events to its
endpoints, nor theirs to these receivers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from catalog.db import open_pool
from tests.support.databases import scratch_database
from tests.webhooks.receivers import SECRET, Behaviour, Receiver
from tributary.settings import WebhookSettings
from webhooks.dispatcher import Dispatcher
from webhooks.events import EventType
from webhooks.outbox import Outbox

SITE = "https://tv.example"

FAST = {
    # Short enough that retries, give-ups and leases happen within a test.
    "secret": SECRET,
    "request_timeout": 1.0,
    "max_attempts": 3,
    "backoff_base": 0.2,
    "backoff_cap": 0.4,
    "poll_interval": 0.2,
    "concurrency": 2,
    "retention": 3600,
}


def fast_webhooks(urls: list[str], **overrides: Any) -> WebhookSettings:
    return WebhookSettings(**{**FAST, "urls": urls, **overrides})


@pytest.fixture(scope="package")
async def webhook_database(services) -> AsyncIterator[str]:
    async with scratch_database(services.database_url) as url:
        yield url


@pytest.fixture(scope="package")
async def package_pool(webhook_database) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_pool(webhook_database)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def pool(package_pool) -> asyncpg.Pool:
    """The webhook database with an empty outbox."""
    await package_pool.execute("TRUNCATE webhook_events CASCADE")
    return package_pool


@pytest.fixture
def record(pool) -> Callable[..., Awaitable[str]]:
    """Records a ``stream.started`` event as an origin does; returns the stream's name."""
    outbox = Outbox(pool)

    async def record_event() -> str:
        name = f"s{uuid.uuid4().hex[:10]}"
        await outbox.record_stream_event(EventType.STREAM_STARTED, name, datetime.now(UTC))
        return name

    return record_event


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[[Behaviour], Awaitable[Receiver]]]:
    started: list[Receiver] = []

    async def start(behaviour: Behaviour) -> Receiver:
        receiver = await Receiver(behaviour).start()
        started.append(receiver)
        return receiver

    try:
        yield start
    finally:
        for receiver in started:
            await receiver.close()


@pytest.fixture
async def dispatchers(pool) -> AsyncIterator[Callable[..., Awaitable[Dispatcher]]]:
    """Starts dispatchers on the webhook database (``urls`` and settings overriding
    :data:`FAST`); stops them afterwards and checks that none of their tasks outlives them."""
    started: list[Dispatcher] = []

    async def start(urls: list[str], **overrides: Any) -> Dispatcher:
        dispatcher = Dispatcher(fast_webhooks(urls, **overrides), pool, site_url=lambda: SITE)
        await dispatcher.start()
        started.append(dispatcher)
        return dispatcher

    try:
        yield start
    finally:
        for dispatcher in started:
            await dispatcher.stop()
        await asyncio.sleep(0)
        leaked = [t for t in asyncio.all_tasks() if t.get_name().startswith("webhooks-")]
        assert not leaked, leaked


async def deliveries(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Every delivery row, oldest event first."""
    return await pool.fetch(
        """SELECT d.id, d.endpoint, d.state::text AS state, d.attempts, d.last_status,
                  d.last_error, d.next_attempt_at, e.type, e.data
           FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
           ORDER BY e.created_at, d.endpoint"""
    )


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def state_of(pool: asyncpg.Pool, delivery: str | UUID) -> asyncpg.Record:
    return await pool.fetchrow(
        """SELECT state::text AS state, attempts, last_status, last_error, next_attempt_at
           FROM webhook_deliveries WHERE id = $1""",
        UUID(str(delivery)),
    )
