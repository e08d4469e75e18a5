"""The catalog's PostgreSQL pool: created once per node, migrated before anything uses it."""

from __future__ import annotations

import asyncpg

from catalog.migrations_runner import apply_migrations


async def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, command_timeout=30
    )
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
    except BaseException:
        await pool.close()
        raise
    return pool
