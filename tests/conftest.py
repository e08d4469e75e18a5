"""Session-wide real services: PostgreSQL and Redis.

With ``DATABASE_URL``/``REDIS_URL`` set, tests use those servers (a fresh database is created
for the run and dropped after); otherwise the embedded ones start, exactly as ``tributary up``
would start them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest

from tests.support.databases import with_database
from tributary.embedded import EmbeddedServices


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str


@pytest.fixture(scope="session")
async def services(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    embedded = EmbeddedServices()
    data_dir = tmp_path_factory.mktemp("services")
    external_db = os.environ.get("DATABASE_URL")
    scratch_db = f"tributary_test_{uuid.uuid4().hex[:10]}"
    if external_db:
        conn = await asyncpg.connect(external_db)
        await conn.execute(f'CREATE DATABASE "{scratch_db}"')
        await conn.close()
        database_url = with_database(external_db, scratch_db)
    else:
        database_url = await embedded.start_postgres(data_dir)
    redis_url = os.environ.get("REDIS_URL") or await embedded.start_redis(data_dir)
    try:
        yield Services(database_url, redis_url)
    finally:
        if external_db:
            conn = await asyncpg.connect(external_db)
            await conn.execute(f'DROP DATABASE IF EXISTS "{scratch_db}" WITH (FORCE)')
            await conn.close()
        await embedded.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client for talking to test nodes."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session
