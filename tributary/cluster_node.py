"""What the cluster-only roles (``serve worker``, ``serve chat``) share: they run against the
cluster's PostgreSQL and Redis (never embedded ones: alone they would be useless), and they
open resources one after another and close them in reverse, also when starting fails midway.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from tributary.settings import Settings


class ClusterNode:
    role = "node"

    def __init__(self, settings: Settings) -> None:
        if settings.database_url is None or settings.redis_url is None:
            raise ValueError(
                f"a {self.role} needs DATABASE_URL and REDIS_URL (the cluster's servers)"
            )
        self.settings = settings
        self.port: int | None = None
        self.resources = AsyncExitStack()
        """Register each resource's closing here as soon as it is open."""

    async def start(self) -> int:
        """Start serving; the HTTP port."""
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> int:
        raise NotImplementedError

    async def stop(self) -> None:
        await self.resources.aclose()
