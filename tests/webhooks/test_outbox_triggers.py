"""Video events are recorded by the trigger on ``videos``, in the transaction that changes the
status: once per change to ready or failed, never for a change rolled back, and with times in
UTC whatever the session's time zone."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from catalog.videos import Privacy, Status, Videos, set_status


@pytest.fixture
async def channel(pool) -> tuple[int, str]:
    tag = uuid.uuid4().hex[:10]
    owner = await pool.fetchval(
        """INSERT INTO users (email, username, display_name, password_hash, role)
           VALUES ($1, $2, 'Owner', '!', 'creator') RETURNING id""",
        f"{tag}@example.org", f"u{tag}",
    )
    handle = f"c{tag}"
    channel_id = await pool.fetchval(
        "INSERT INTO channels (owner_id, handle, title) VALUES ($1, $2, 'A channel') RETURNING id",
        owner, handle,
    )
    return channel_id, handle


async def events(pool) -> list[tuple[str, dict]]:
    rows = await pool.fetch("SELECT type, data::text FROM webhook_events ORDER BY created_at")
    return [(row["type"], json.loads(row["data"])) for row in rows]


async def test_each_change_to_ready_or_failed_is_one_event(pool, channel):
    channel_id, handle = channel
    videos = Videos(pool)
    video = await videos.create(channel_id, "Trigger test", privacy=Privacy.PUBLIC)
    await videos.set_status(video.id, Status.PROCESSING, progress_percent=50)
    assert await events(pool) == []

    await videos.set_status(video.id, Status.READY, duration_seconds=12.5)
    await videos.set_status(video.id, Status.READY)  # no change of status: no second event
    await pool.execute("UPDATE videos SET title = 'Renamed' WHERE id = $1", video.id)
    [(kind, data)] = await events(pool)
    assert kind == "video.ready"
    assert data["video"] == {
        "id": video.public_id, "title": "Trigger test", "privacy": "public", "status": "ready",
        "duration_seconds": 12.5, "failure_reason": None,
        "created_at": data["video"]["created_at"], "published_at": data["video"]["published_at"],
        "channel": {"handle": handle, "title": "A channel"},
    }
    assert data["video"]["published_at"] is not None  # set by the BEFORE trigger, seen AFTER

    other = await videos.create(channel_id, "Born ready", status=Status.READY)
    broken = await videos.create(channel_id, "Broken")
    await videos.set_status(broken.id, Status.FAILED, failure_reason="the file ends early")
    kinds = [(kind, data["video"]["id"]) for kind, data in await events(pool)]
    assert kinds[1:] == [("video.ready", other.public_id), ("video.failed", broken.public_id)]
    assert (await events(pool))[2][1]["video"]["failure_reason"] == "the file ends early"


async def test_a_rolled_back_change_records_nothing(pool, channel):
    videos = Videos(pool)
    video = await videos.create(channel[0], "Rolled back")
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await set_status(conn, video.id, Status.READY)
        assert len(await conn.fetch("SELECT 1 FROM webhook_events")) == 1  # visible inside
        await transaction.rollback()
    assert await events(pool) == []


async def test_times_are_utc_whatever_the_session_time_zone(pool, channel):
    videos = Videos(pool)
    video = await videos.create(channel[0], "Time zones")
    async with pool.acquire() as conn:
        await conn.execute("SET TIME ZONE 'Pacific/Chatham'")  # +12:45 or +13:45
        await set_status(conn, video.id, Status.READY)
        await conn.execute("RESET TIME ZONE")
    [(_, data)] = await events(pool)
    written = datetime.strptime(data["video"]["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert written == video.created_at
