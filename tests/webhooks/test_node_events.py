"""Events from a real all-in-one node (its worker runs the dispatcher) to a real receiver: a
stream pushed with ffmpeg over RTMP, dropping and returning within the grace period, starts
once and ends once, and its recording is a ``video.ready``; an upload transcoded by the node's
job worker is ``video.ready``, a file that is not a video ``video.failed``; a node shutting down
ends its streams, and records that before it closes its pool."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from tests.support.api_client import api_for
from tests.support.databases import scratch_database
from tests.support.ffmpeg import Source, make_file, publish, start_publish
from tests.support.nodes import RunningNode
from tests.support.nodes import test_settings as node_settings
from tests.support.transcodes import uploaded
from tests.webhooks.conftest import fast_webhooks
from tests.webhooks.receivers import SECRET, Received, Receiver, answer
from tributary.node import Node
from tributary.settings import WebhookSettings
from webhooks import verify

GRACE = 2.0
SMALL = {"width": 320, "height": 180}


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver(answer(200)).start()
    try:
        yield receiver
    finally:
        await receiver.close()


@asynccontextmanager
async def running_node(services, data_dir: Path, webhooks: WebhookSettings) -> AsyncIterator[RunningNode]:
    """An all-in-one node on a scratch database of its own, with ``webhooks``."""
    async with scratch_database(services.database_url) as url:
        settings = node_settings(
            dataclasses.replace(services, database_url=url), data_dir,
            reconnect_grace=GRACE, ladder={"heights": []},
        ).model_copy(update={"webhooks": webhooks})
        node = Node(settings)
        await node.start()
        try:
            yield RunningNode(node)
        finally:
            await node.stop()


@pytest.fixture(scope="module")
async def node(services, receiver, tmp_path_factory) -> AsyncIterator[RunningNode]:
    data_dir = tmp_path_factory.mktemp("webhook-node")
    async with running_node(services, data_dir, fast_webhooks([receiver.url])) as node:
        yield node


def of(event_type: str, **subject: str):
    """Requests for events of ``event_type`` whose stream or video has the given fields."""
    kind = event_type.split(".")[0]

    def check(request: Received) -> bool:
        event = request.event
        if event["type"] != event_type:
            return False
        return all(event["data"][kind].get(k) == v for k, v in subject.items())

    return check


async def test_a_stream_starts_once_ends_once_and_its_recording_is_ready(node, receiver):
    async with api_for(node) as api:
        owner = await api.register(creator=True)
        name = f"w{uuid.uuid4().hex[:12]}"
        got = await api.call("POST", "/live-streams", json={"name": name, "title": "Webhook show"}, account=owner)
        assert got.status == 201, got.body
        key = got.body["stream_key"]

    for source in (Source(seconds=2.5, **SMALL), Source(seconds=2, **SMALL)):  # returns within grace
        code, err = await publish(f"{node.rtmp}/{key}", source)
        assert code == 0, err
    pushed = time.monotonic()

    [ended] = await receiver.matching(of("stream.ended", name=name), timeout=GRACE + 10)
    assert ended.at - pushed >= GRACE * 0.9, "ended only when the grace period ran out"
    [started] = [r for r in receiver.requests if of("stream.started", name=name)(r)]
    for request in (started, ended):
        verify(SECRET, request.headers["Tributary-Signature"], request.body)
        stream = request.event["data"]["stream"]
        assert stream["title"] == "Webhook show"
        assert stream["channel"]["handle"] == owner.channel
        assert stream["channel"]["url"] == f"{node.http}/c/{owner.channel}"
        assert stream["watch_url"] == f"{node.http}/watch/{name}"
    start, end = started.event["data"]["stream"], ended.event["data"]["stream"]
    assert end["started_at"] == start["started_at"]
    assert end["duration_seconds"] >= 4.0

    # The recording is published through the videos table, so the trigger reports it too.
    [ready] = await receiver.matching(
        of("video.ready", title="Webhook show"), timeout=15)
    video = ready.event["data"]["video"]
    assert video["channel"]["handle"] == owner.channel and video["privacy"] == "public"
    assert video["duration_seconds"] == pytest.approx(4.5, abs=1.0)
    assert video["watch_url"] == f"{node.http}/v/{video['id']}"
    await asyncio.sleep(0.5)
    assert len([r for r in receiver.requests if r.event["data"].get("stream", {}).get("name") == name]) == 2


async def test_uploads_transcoded_by_the_worker_are_ready_or_failed(node, receiver, tmp_path):
    clip = tmp_path / "clip.mp4"
    await make_file(clip, Source(seconds=2, realtime=False, **SMALL))
    async with api_for(node) as api:
        owner = await api.register(creator=True)
        good, good_key = await uploaded(api, owner, clip.read_bytes(), "A good upload")
        broken, broken_key = await uploaded(api, owner, b"this is not a video\n" * 50, "A broken upload")
    assert node.node.jobs is not None
    await node.node.jobs.enqueue_transcode(good, good_key)
    await node.node.jobs.enqueue_transcode(broken, broken_key)

    [ready] = await receiver.matching(of("video.ready", id=good), timeout=60)
    [failed] = await receiver.matching(of("video.failed", id=broken), timeout=60)
    for request in (ready, failed):
        verify(SECRET, request.headers["Tributary-Signature"], request.body)
        assert request.headers["Tributary-Event"] == request.event["type"]
    video = ready.event["data"]["video"]
    assert (video["title"], video["status"], video["failure_reason"]) == ("A good upload", "ready", None)
    assert video["duration_seconds"] == pytest.approx(2.0, abs=0.2)
    assert video["channel"]["handle"] == owner.channel
    assert video["api_url"] == f"{node.http}/api/v1/videos/{good}"
    assert video["published_at"] is not None
    video = failed.event["data"]["video"]
    assert (video["title"], video["status"]) == ("A broken upload", "failed")
    assert isinstance(video["failure_reason"], str) and video["failure_reason"]
    assert video["studio_url"] == f"{node.http}/studio/videos/{broken}"
    assert "watch_url" not in video


async def test_a_node_shutting_down_ends_its_streams_before_it_closes_the_catalog(services, tmp_path):
    """No endpoints configured: the events are still recorded (and only kept for a while)."""
    async with running_node(services, tmp_path / "node", WebhookSettings()) as node:
        pool = node.node.pool
        name, key = await node.new_stream()
        publisher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=30, **SMALL))
        try:
            async with asyncio.timeout(15):
                while not await pool.fetchval("SELECT count(*) FROM webhook_events"):
                    await asyncio.sleep(0.1)
            await node.node.stop()  # the stream ends now, not after its grace period
        finally:
            with contextlib.suppress(ProcessLookupError):  # ffmpeg quits when the node hangs up
                publisher.kill()
            await publisher.wait()
        conn = await asyncpg.connect(node.node.settings.database_url)
        try:
            rows = await conn.fetch(
                "SELECT type, data->'stream'->>'name' AS name FROM webhook_events ORDER BY created_at")
            assert [(row["type"], row["name"]) for row in rows] == [
                ("stream.started", name), ("stream.ended", name)]
            assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries") == 0
        finally:
            await conn.close()
