"""``GET /healthz`` (the process is alive and serving) and ``GET /readyz`` (what it depends on
answers), on every role, for load balancers, orchestrators and edges choosing an origin.

``/readyz`` runs the role's own checks; each returns a problem to report or ``None``. A check
that hangs counts as a problem after ``CHECK_TIMEOUT``, so a probe never outwaits its prober.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import redis.asyncio as redis
from aiohttp import hdrs, web

from vod.storage import ObjectNotFound, Storage

Check = Callable[[], Awaitable[str | None]]
CHECK_TIMEOUT = 2.0
_STORAGE_PROBE = "readyz-probe"
"""A key nothing writes: asking for it is one stat (local disk) or one HEAD request (S3)."""
_NO_STORE = {hdrs.CACHE_CONTROL: "no-store", hdrs.CONTENT_TYPE: "text/plain"}


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", headers=_NO_STORE)


async def _run(check: Check) -> str | None:
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except asyncio.TimeoutError:
        return f"{getattr(check, '__name__', 'a check')} did not answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:  # a failing dependency is exactly what this reports
        return f"{getattr(check, '__name__', 'a check')}: {exc!r}"


def database_and_redis(pool: asyncpg.Pool, client: redis.Redis) -> tuple[Check, Check]:
    """The checks of a role that needs the catalog and Redis (an origin node, a worker)."""

    async def database() -> str | None:
        await pool.fetchval("SELECT 1")
        return None

    async def redis_server() -> str | None:
        await client.ping()
        return None

    return database, redis_server


def storage_reachable(store: Storage) -> Check:
    """The check of a role that serves or writes media in object storage (an origin): the
    backend answers, and "no such object" is an answer. Wrong credentials or an unreachable
    endpoint raise and are reported (a missing bucket looks like a missing object to a HEAD)."""

    async def storage() -> str | None:
        try:
            await store.head(_STORAGE_PROBE)
        except ObjectNotFound:
            pass
        return None

    return storage


def add_health_routes(app: web.Application, checks: Sequence[Check] = ()) -> None:
    async def readyz(request: web.Request) -> web.Response:
        problems = [p for p in await asyncio.gather(*(_run(check) for check in checks)) if p]
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n", headers=_NO_STORE)
        return web.Response(text="ready\n", headers=_NO_STORE)

    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", readyz)
