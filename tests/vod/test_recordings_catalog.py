"""Recordings in the catalog: the operator channel of channel-less streams, titles, a failure
midway, and what the origin looks up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from catalog.db import open_pool
from catalog.recordings import NewRecording, RecordedRendition, Recordings, recording_title
from catalog.videos import Privacy, Status, Videos
from tests.support.databases import scratch_database

STARTED = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def recording(stream, *, width: int = 640, path: str = "recordings/x/1/master.m3u8") -> NewRecording:
    rendition = RecordedRendition(name="source", width=width, height=360, bitrate=1_000_000,
                                  codecs="avc1.64001e,mp4a.40.2",
                                  playlist_path="recordings/x/1/source/index.m3u8")
    return NewRecording(stream=stream, started_at=STARTED, duration_seconds=12.5, playlist_path=path,
                        renditions=[rendition], poster=None)


async def test_the_operator_channel_is_made_once_and_its_owner_cannot_log_in(vod_node, api):
    recordings = Recordings(vod_node.node.pool)
    ids = await asyncio.gather(*(recordings.operator_channel() for _ in range(4)))
    assert len(set(ids)) == 1
    owner = await vod_node.node.pool.fetchrow(
        "SELECT u.email, u.role, u.disabled_at, c.handle FROM channels c JOIN users u ON u.id = c.owner_id"
        " WHERE c.id = $1", ids[0])
    assert owner["disabled_at"] is not None and owner["handle"].startswith("operator")
    # Its address is on the reserved .invalid domain (the API refuses it: 422), its password hash
    # is no hash, and the account is disabled.
    got = await api.call("POST", "/auth/login", json={"email": owner["email"], "password": "!"})
    assert got.status in (401, 422)


async def test_the_operator_channel_never_takes_a_registered_handle(services, api):
    async with scratch_database(services.database_url) as url:
        pool = await open_pool(url)
        try:
            user = await pool.fetchval(
                "INSERT INTO users (email, username, display_name, password_hash)"
                " VALUES ('o@example.org', 'someone', 'Someone', 'x') RETURNING id")
            await pool.execute(
                "INSERT INTO channels (owner_id, handle, title) VALUES ($1, 'Operator', 'Mine')", user)
            channel_id = await Recordings(pool).operator_channel()
            handle, owner = await pool.fetchrow(
                "SELECT handle, owner_id FROM channels WHERE id = $1", channel_id)
            assert handle.startswith("operator-") and owner != user
        finally:
            await pool.close()


async def test_titles(vod_node, cli_stream):
    stream = await cli_stream(title="  ")
    assert recording_title(stream, STARTED) == f"{stream.name} — 2031-05-06 07:08 UTC"
    titled = await cli_stream(title="x" * 300)
    video = await Recordings(vod_node.node.pool).publish(recording(titled, path="recordings/t/1/master.m3u8"))
    assert video.title == "x" * 200 and video.status is Status.READY and video.privacy is Privacy.PUBLIC
    assert video.duration_seconds == 12.5 and video.published_at is not None


async def test_a_failure_midway_leaves_a_failed_video_not_a_ready_one(vod_node, cli_stream):
    stream = await cli_stream()
    with pytest.raises(asyncpg.CheckViolationError):
        await Recordings(vod_node.node.pool).publish(recording(stream, width=0))
    row = await vod_node.node.pool.fetchrow(
        "SELECT public_id, status, failure_reason FROM videos WHERE title LIKE $1", f"{stream.name} — %")
    assert row["status"] == "failed" and "CheckViolationError" in row["failure_reason"]
    assert await Recordings(vod_node.node.pool).stored_video(row["public_id"]) is None


async def test_stored_video_only_for_ready_videos_with_files(vod_node, cli_stream):
    recordings = Recordings(vod_node.node.pool)
    assert await recordings.stored_video("AAAAAAAAAAA") is None
    video = await recordings.publish(recording(await cli_stream(), path="recordings/s/1/master.m3u8"))
    stored = await recordings.stored_video(video.public_id)
    assert stored.playlist_path == "recordings/s/1/master.m3u8" and stored.thumbnails == {}
    assert stored.renditions == {"source": "recordings/x/1/source/index.m3u8"}
    await Videos(vod_node.node.pool).set_status(video.id, Status.PROCESSING)
    assert await recordings.stored_video(video.public_id) is None


async def test_storage_keys_are_checked_by_the_database_too(vod_node, cli_stream):
    video = await Recordings(vod_node.node.pool).publish(recording(await cli_stream()))
    for bad in ("../etc/passwd", "/abs", "a//b", ".hidden/x"):
        with pytest.raises(asyncpg.CheckViolationError):
            await vod_node.node.pool.execute(
                "UPDATE videos SET playlist_path = $2 WHERE id = $1", video.id, bad)
