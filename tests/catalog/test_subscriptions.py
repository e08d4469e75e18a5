"""Subscriptions and the subscription feed: idempotence, exact counts under concurrency, and a
feed that never shows what is not listed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from catalog.migrations_runner import apply_migrations
from catalog.subscriptions import Subscriptions
from catalog.videos import Privacy, Status
from tests.support.databases import scratch_database
from tests.support.social import make_video, set_privacy, walk


async def subscribe(api, account, channel, method="PUT"):
    return await api.call(method, f"/channels/{channel}/subscription", account=account)


async def test_subscribe_and_unsubscribe(api):
    creator, viewer = await api.register(creator=True), await api.register()
    state = await subscribe(api, viewer, creator.channel, "GET")
    assert state.body == {"subscribed": False, "subscriber_count": 0}
    for _ in range(2):  # idempotent
        got = await subscribe(api, viewer, creator.channel)
        assert (got.status, got.body) == (200, {"subscribed": True, "subscriber_count": 1})
    assert (await subscribe(api, viewer, creator.channel, "GET")).body["subscribed"] is True
    channel = await api.call("GET", f"/channels/{creator.channel}")
    assert channel.body["subscriber_count"] == 1
    for _ in range(2):
        got = await subscribe(api, viewer, creator.channel, "DELETE")
        assert (got.status, got.body) == (200, {"subscribed": False, "subscriber_count": 0})

    own = await subscribe(api, creator, creator.channel)
    assert (own.status, own.body["error"]) == (409, "own_channel")
    assert (await subscribe(api, viewer, "no-such-channel")).status == 404
    assert (await subscribe(api, None, creator.channel)).status == 401
    assert (await subscribe(api, viewer, "x' OR '1'='1")).status == 422


async def test_subscriber_count_under_concurrency(api):
    creator = await api.register(creator=True)
    fans = await asyncio.gather(*[api.register() for _ in range(50)])
    # Everyone subscribes twice at once: 50, not 100.
    results = await asyncio.gather(*[subscribe(api, fan, creator.channel) for fan in fans * 2])
    assert {r.status for r in results} == {200}
    assert (await api.call("GET", f"/channels/{creator.channel}")).body["subscriber_count"] == 50
    # Half leave (twice each) while the rest subscribe again.
    await asyncio.gather(*[subscribe(api, fan, creator.channel, "DELETE") for fan in fans[:25] * 2],
                         *[subscribe(api, fan, creator.channel) for fan in fans[25:]])
    assert (await api.call("GET", f"/channels/{creator.channel}")).body["subscriber_count"] == 25


async def test_my_subscriptions(api):
    viewer = await api.register()
    creators = [await api.register(creator=True) for _ in range(3)]
    for creator in creators:
        await subscribe(api, viewer, creator.channel)
    listed = await walk(api, "/me/subscriptions", viewer, limit="2")
    assert [s["channel"]["handle"] for s in listed] == [c.channel for c in reversed(creators)]
    assert (await api.call("GET", "/me/subscriptions")).status == 401
    other = await api.register()
    assert (await api.call("GET", "/me/subscriptions", account=other)).body["items"] == []


async def test_feed_shows_only_listed_videos_of_subscriptions(api):
    viewer = await api.register()
    followed, ignored = await api.register(creator=True), await api.register(creator=True)
    await subscribe(api, viewer, followed.channel)
    shown = [await make_video(api, followed, f"public {i}") for i in range(3)]
    for privacy in (Privacy.UNLISTED, Privacy.PRIVATE):
        await make_video(api, followed, privacy.value, privacy=privacy)
    await make_video(api, followed, "processing", status=Status.PROCESSING)
    await make_video(api, ignored, "not subscribed")
    second = await api.register(creator=True)
    await subscribe(api, viewer, second.channel)
    shown.append(await make_video(api, second, "newest"))

    feed = await walk(api, "/me/feed", viewer, limit="2")
    assert [v["id"] for v in feed] == list(reversed(shown))
    assert feed[0]["channel"] == second.channel and feed[0]["privacy"] == "public"

    # A video made unlisted leaves the feed; unsubscribing empties the channel's share.
    await set_privacy(api, shown[0], Privacy.UNLISTED)
    await subscribe(api, viewer, second.channel, "DELETE")
    feed = await walk(api, "/me/feed", viewer)
    assert [v["id"] for v in feed] == [shown[2], shown[1]]
    assert (await api.call("GET", "/me/feed")).status == 401


class _Explain:
    """Stands in for a pool: runs the data module's query under EXPLAIN and keeps the plan."""

    def __init__(self, pool) -> None:
        self.pool, self.plan = pool, ""

    async def fetch(self, sql, *args):
        self.plan = "\n".join(row[0] for row in await self.pool.fetch(f"EXPLAIN {sql}", *args))
        return []


async def test_feed_reads_an_index_per_channel(services):
    """On a catalog big enough for the planner to care (300 channels, 30,000 videos), the feed
    reads each subscribed channel's newest listed videos from the index, never all videos."""
    async with scratch_database(services.database_url) as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn)
                await conn.execute("""
                    INSERT INTO users (email, username, display_name, password_hash)
                    SELECT 'u' || i || '@example.org', 'user' || i, 'U', '-'
                    FROM generate_series(1, 301) i;
                    INSERT INTO channels (owner_id, handle, title)
                    SELECT id, 'chan' || id, 'C' FROM users WHERE id <= 300;
                    INSERT INTO videos (public_id, channel_id, title, privacy, status)
                    SELECT lpad(to_hex(i), 11, '0'), 1 + i % 300, 'v',
                           (ARRAY['public', 'unlisted', 'private'])[1 + i % 3]::video_privacy, 'ready'
                    FROM generate_series(1, 30000) i;
                    INSERT INTO subscriptions (user_id, channel_id)
                    SELECT 301, id FROM channels WHERE id <= 100;
                    ANALYZE;""")
            explain = _Explain(pool)
            await Subscriptions(explain).feed(301, after=(datetime.now(UTC), 2**62), limit=21)
        finally:
            await pool.close()
    assert "Index Scan using videos_channel_listed on videos" in explain.plan, explain.plan
    assert "Seq Scan on videos" not in explain.plan, explain.plan
