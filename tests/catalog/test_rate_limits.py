"""Rate limits live in Redis and answer 429 with Retry-After."""

from __future__ import annotations

import aiohttp
import redis.asyncio as redis

from catalog.api.rate_limits import KEY_PREFIX
from tests.support.api_client import Api
from tests.support.nodes import node_factory


async def clear_limits(redis_url: str) -> None:
    """Counters from an earlier run against the same (external) Redis must not leak in."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(f"{KEY_PREFIX}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def assert_limited(got) -> None:
    assert got.status == 429, got.body
    assert got.body["error"] == "rate_limited"
    assert 1 <= int(got.headers["Retry-After"]) <= 60


async def test_login_and_write_limits(services, tmp_path):
    await clear_limits(services.redis_url)
    async with node_factory(services, tmp_path) as start:
        node = await start(api={"auth_rate": "3/minute", "write_rate": "8/minute"})
        async with aiohttp.ClientSession() as session:
            api = Api(session, node.api, node)
            account = await api.register(creator=True)
            other = await api.register()
            wrong = {"email": account.email, "password": "not the password"}
            for _ in range(3):
                assert (await api.call("POST", "/auth/login", json=wrong)).status == 401
            assert_limited(await api.call("POST", "/auth/login", json=wrong))
            # The right password does not get past the limit either.
            assert_limited(await api.login(account))
            assert_limited(await api.login(other))  # same client address

            # Writes count per user, reads not at all.
            for i in range(8):
                got = await api.call("PATCH", f"/channels/{account.channel}",
                                     json={"title": f"T{i}"}, account=account)
                assert got.status == 200
            assert_limited(await api.call("PATCH", f"/channels/{account.channel}",
                                          json={"title": "one too many"}, account=account))
            assert (await api.call("GET", f"/channels/{account.channel}")).body["title"] == "T7"
            # Another user has their own budget.
            viewer_write = await api.call("POST", "/live-streams", json={"name": "x"}, account=other)
            assert viewer_write.status == 403
