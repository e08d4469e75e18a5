"""Migrations on real PostgreSQL: from an empty database, re-run, and upgrading a live catalog."""

from __future__ import annotations

import asyncpg

from catalog.live_streams import LiveStreamCatalog
from catalog.migrations_runner import apply_migrations, bundled_migrations
from tests.support.databases import scratch_database

EXPECTED_TABLES = {
    "schema_migrations", "live_streams", "stream_keys", "users", "channels", "refresh_tokens",
    "videos", "renditions", "thumbnails",  # 0001, 0002
    "video_reactions", "video_views", "video_hot_scores",  # 0003
    "comments", "comment_likes", "subscriptions", "watch_history", "playlists", "playlist_items",  # 0004
}


async def test_from_empty_then_rerun_applies_nothing(services):
    versions = [m.version for m in bundled_migrations()]
    async with scratch_database(services.database_url) as url:
        conn = await asyncpg.connect(url)
        try:
            assert await apply_migrations(conn) == versions
            assert await apply_migrations(conn) == []
            tables = {r["tablename"] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            assert EXPECTED_TABLES <= tables
            extensions = {r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")}
            assert {"pg_trgm", "citext"} <= extensions
            recorded = [r["version"] for r in await conn.fetch(
                "SELECT version FROM schema_migrations ORDER BY version")]
            assert recorded == versions
        finally:
            await conn.close()


async def test_upgrade_keeps_existing_streams_and_keys_working(services):
    """A catalog made before accounts existed: its streams have no channel and keep publishing."""
    first = bundled_migrations()[0]
    async with scratch_database(services.database_url) as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())")
            await conn.execute(first.sql)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               first.version, first.name)
            stream_id = await conn.fetchval(
                "INSERT INTO live_streams (name, title) VALUES ('old', 'Before') RETURNING id")
            await conn.execute(
                "INSERT INTO stream_keys (stream_id, key_sha256) VALUES ($1, sha256('trb_old'))",
                stream_id)
            assert 2 in await apply_migrations(conn)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            stream = await LiveStreamCatalog(pool).stream_for_key("trb_old")
            assert stream is not None and stream.name == "old" and stream.channel_id is None
            key = await pool.fetchrow("SELECT label, last_used_at FROM stream_keys")
            assert key["label"] == "" and key["last_used_at"] is not None
        finally:
            await pool.close()
