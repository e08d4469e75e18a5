"""Cluster-wide "one publisher per stream": a lease in Redis, renewed while the publisher lives.

Each origin node refuses a second publisher locally; the lease makes the refusal hold across
nodes behind a load balancer. A node that dies stops renewing and its claim lapses after the
TTL, so a publisher can come back through another node.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as redis
import structlog

log = structlog.get_logger(__name__)

LEASE_PREFIX = "tributary:publisher:"
"""A lease's key is this and the stream's name: :mod:`ingest.live_directory` lists them."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class PublishLease:
    """A held claim. ``release`` is idempotent and cancels the renewal task it owns."""

    def __init__(self, client: redis.Redis, key: str, token: str, ttl: float) -> None:
        self._client = client
        self._key = key
        self._token = token
        self._ttl = ttl
        self._renewal = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self._client.set(self._key, self._token, px=int(self._ttl * 1000), xx=True)
            except redis.RedisError as exc:
                log.warning("ingest.lease_renew_failed", key=self._key, error=str(exc))

    async def release(self) -> None:
        if self._renewal.done():
            return
        self._renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._renewal
        try:
            await self._client.eval(_RELEASE, 1, self._key, self._token)
        except redis.RedisError as exc:
            log.warning("ingest.lease_release_failed", key=self._key, error=str(exc))


class PublishLeases:
    def __init__(self, client: redis.Redis, node_id: str, *, ttl: float = 15.0) -> None:
        self._client = client
        self._node_id = node_id
        self._ttl = ttl

    async def acquire(self, stream: str, session: str) -> PublishLease | None:
        key = LEASE_PREFIX + stream
        token = f"{self._node_id}:{session}"
        ok = await self._client.set(key, token, px=int(self._ttl * 1000), nx=True)
        return PublishLease(self._client, key, token, self._ttl) if ok else None
