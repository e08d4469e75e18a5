"""The job queue with real Redis and real worker processes (``python -m tributary serve worker``).

The mechanics (retries, timeouts, concurrency, lanes, a worker killed mid-job) run test jobs:
real job functions, defined in :data:`TASKS` below and loaded by the workers through
``jobs.task_modules`` (the registry's extension point), that note every start and end in a
Redis list. Each test has a queue name of its own, so parallel runs never share jobs, and its
Redis keys are deleted afterwards. The last test runs the real transcode.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis.asyncio as redis

from tests.support.api_client import Account, Api
from tests.support.ffmpeg import Source, make_file
from tests.support.role_process import RoleProcess, start_role
from tests.support.transcodes import uploaded
from tributary.settings import JobSettings
from vod.jobs import JobContext, JobQueue, Lane, Task
from vod.jobs.tasks import mark_video_failed


# ------------------------------------------------------------------ test jobs (run by workers)


async def _note(ctx: JobContext, marker: str, event: str) -> None:
    entry = {"event": event, "attempt": ctx.attempt, "pid": os.getpid(), "at": time.time()}
    await ctx.deps.redis.rpush(marker, json.dumps(entry))


async def _sleep(ctx: JobContext, *, marker: str, seconds: float, hang_tries: int = 0) -> None:
    """Notes its start, sleeps ``seconds`` (for ever on its first ``hang_tries`` tries), notes its end."""
    await _note(ctx, marker, "start")
    await asyncio.sleep(3600 if ctx.attempt <= hang_tries else seconds)
    await _note(ctx, marker, "end")


async def _fail(ctx: JobContext, *, marker: str, public_id: str) -> None:
    await _note(ctx, marker, "start")
    raise RuntimeError("the test job fails on purpose")


TASKS = (Task("test-sleep", _sleep), Task("test-fail", _fail, mark_video_failed))

# ------------------------------------------------------------------ worker processes


def jobs_env(settings: JobSettings) -> dict[str, str]:
    """``settings`` as the ``TRIBUTARY_JOBS__*`` variables an operator would set."""
    return {
        f"TRIBUTARY_JOBS__{name.upper()}": json.dumps(value) if isinstance(value, list) else str(value)
        for name, value in settings.model_dump().items()
    }


@dataclass
class JobsRig:
    """A queue of the test's own, the workers that serve it, and the notes its test jobs leave."""

    services: Any
    tmp_path: Path
    settings: JobSettings
    storage_root: Path | None = None
    redis: redis.Redis = field(init=False)
    queue: JobQueue = field(init=False)
    workers: list[RoleProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.redis = redis.from_url(self.services.redis_url)
        self.queue = JobQueue(self.services.redis_url, self.settings)

    async def start_worker(self, env: dict[str, str] | None = None) -> RoleProcess:
        data_dir = self.tmp_path / f"worker{len(self.workers)}"
        env = {
            **jobs_env(self.settings),
            "TRIBUTARY_STORAGE__LOCAL_ROOT": str(self.storage_root or data_dir / "storage"),
            **(env or {}),
        }
        worker = await start_role(
            "worker", self.services.database_url, self.services.redis_url, data_dir, env
        )
        self.workers.append(worker)
        return worker

    def marker(self) -> str:
        return f"test-jobs:{self.settings.queue_name}:{uuid.uuid4().hex[:8]}"

    async def sleep_job(self, marker: str, seconds: float, lane: Lane = Lane.UPLOADS,
                        **kwargs: Any) -> bool:
        return await self.queue.enqueue("test-sleep", marker, lane, marker=marker,
                                        seconds=seconds, **kwargs)

    async def notes(self, marker: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.redis.lrange(marker, 0, -1)]

    async def wait_notes(self, marker: str, done: Callable[[list[dict[str, Any]]], bool],
                         timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not done(notes := await self.notes(marker)):
            assert time.monotonic() < deadline, f"gave up waiting; notes so far: {notes}"
            await asyncio.sleep(0.1)
        return notes

    async def close(self) -> None:
        for worker in self.workers:
            await worker.stop()
        await self.queue.close()
        async for key in self.redis.scan_iter(match=f"*{self.settings.queue_name}*"):
            await self.redis.delete(key)
        await self.redis.aclose()


RigFactory = Callable[..., Awaitable[JobsRig]]


@pytest.fixture
async def jobs_rig(services, tmp_path) -> AsyncIterator[RigFactory]:
    rigs: list[JobsRig] = []

    async def make(storage_root: Path | None = None, **settings: Any) -> JobsRig:
        job_settings = JobSettings(
            queue_name=f"t{uuid.uuid4().hex[:12]}",
            http_host="127.0.0.1",
            http_port=0,
            task_modules=["tests.vod.test_jobs"],
            **{"dead_worker_timeout": 3, "backoff_base": 0.5, "shutdown_grace": 5, **settings},
        )
        rig = JobsRig(services, tmp_path, job_settings, storage_root)
        rigs.append(rig)
        return rig

    try:
        yield make
    finally:
        for rig in rigs:
            await rig.close()


def starts(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in notes if n["event"] == "start"]


def ends(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in notes if n["event"] == "end"]


# ------------------------------------------------------------------ the mechanics


async def test_a_job_runs_once_however_often_it_is_enqueued(jobs_rig, http):
    rig = await jobs_rig()
    marker = rig.marker()
    assert await rig.sleep_job(marker, 0.5)
    assert not await rig.sleep_job(marker, 0.5), "the same key again while it waits"
    assert await rig.queue.depth() == {Lane.LIVE: 0, Lane.UPLOADS: 1}
    worker = await rig.start_worker()
    await rig.wait_notes(marker, lambda notes: starts(notes))
    assert not await rig.sleep_job(marker, 0.5), "the same key again while it runs"
    await rig.wait_notes(marker, lambda notes: ends(notes))
    await asyncio.sleep(2)  # a duplicate, had one been queued, would have started by now
    notes = await rig.notes(marker)
    assert [n["event"] for n in notes] == ["start", "end"], notes
    assert await rig.queue.depth() == {Lane.LIVE: 0, Lane.UPLOADS: 0}
    async with http.get(f"{worker.http}/readyz") as response:
        assert response.status == 200
    async with http.get(f"{worker.http}/metrics") as response:
        metrics = await response.text()
    assert 'tributary_jobs_started_total{task="test-sleep"} 1.0' in metrics
    assert 'tributary_jobs_succeeded_total{task="test-sleep"} 1.0' in metrics
    assert 'tributary_job_seconds_count{outcome="succeeded",task="test-sleep"} 1.0' in metrics
    # Finished, the key is free again: enqueueing it once more is a new run (a re-transcode).
    assert await rig.sleep_job(marker, 0.1)
    await rig.wait_notes(marker, lambda notes: len(ends(notes)) == 2)
    # Quiet at INFO: a start and an end per job, nothing per poll or heartbeat.
    events = [e["event"] for e in worker.log_events()]
    assert events[events.index("worker.started"):] == [
        "worker.started", "job.started", "job.succeeded", "job.started", "job.succeeded"
    ]


async def test_a_failing_job_is_retried_with_backoff_then_its_video_fails(jobs_rig, api: Api):
    owner = await api.register(creator=True)
    made = await api.call("POST", "/videos", json={"title": "doomed"}, account=owner)
    assert made.status == 201, made.body
    video_id = made.body["id"]
    base = 2.0
    rig = await jobs_rig(max_tries=3, backoff_base=base)
    await rig.start_worker()
    marker = rig.marker()
    assert await rig.queue.enqueue("test-fail", marker, Lane.UPLOADS, marker=marker, public_id=video_id)

    deadline = time.monotonic() + 60
    while (status := (await api.call("GET", f"/videos/{video_id}/status", account=owner)).body)[
        "status"
    ] != "failed":
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)
    assert status["failure_reason"] == "RuntimeError: the test job fails on purpose (3 tries)"
    tries = starts(await rig.notes(marker))
    assert [t["attempt"] for t in tries] == [1, 2, 3]
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(tries, tries[1:])]
    # The n-th retry waits base·2^(n−1), at least half of it for sure; saq moves due retries
    # to the queue once a second, hence the slack above.
    assert base / 2 <= gaps[0] <= base + 1.5, gaps
    assert base <= gaps[1] <= 2 * base + 1.5, gaps
    await asyncio.sleep(base)
    assert len(starts(await rig.notes(marker))) == 3, "no try after the last one"


async def test_a_try_over_its_timeout_is_cancelled_and_retried(jobs_rig):
    rig = await jobs_rig(job_timeout=2)
    await rig.start_worker()
    marker = rig.marker()
    assert await rig.sleep_job(marker, 0.1, hang_tries=1)
    notes = await rig.wait_notes(marker, lambda notes: ends(notes))
    assert [(n["event"], n["attempt"]) for n in notes] == [("start", 1), ("start", 2), ("end", 2)]
    waited = notes[1]["at"] - notes[0]["at"]
    assert 2.0 <= waited <= 2.0 + 0.5 + 2.5, waited  # timeout + backoff + saq's polling


def most_at_once(notes: list[dict[str, Any]]) -> int:
    running = most = 0
    for note in sorted(notes, key=lambda n: (n["at"], n["event"] == "start")):
        running += 1 if note["event"] == "start" else -1
        most = max(most, running)
    return most


async def test_a_worker_runs_at_most_its_concurrency(jobs_rig):
    rig = await jobs_rig(concurrency=2)
    await rig.start_worker()
    markers = [rig.marker() for _ in range(6)]
    for marker in markers:
        assert await rig.sleep_job(marker, 1.0)
    notes = []
    for marker in markers:
        notes += await rig.wait_notes(marker, lambda notes: ends(notes))
    assert most_at_once(notes) == 2, sorted((n["at"], n["event"]) for n in notes)


async def test_live_work_never_waits_behind_uploads(jobs_rig):
    rig = await jobs_rig(concurrency=1, live_concurrency=1)
    await rig.start_worker()
    uploads = [rig.marker() for _ in range(3)]
    for marker in uploads:
        assert await rig.sleep_job(marker, 1.5)
    await rig.wait_notes(uploads[0], lambda notes: starts(notes))
    live = rig.marker()
    enqueued = time.time()
    assert await rig.sleep_job(live, 0.1, lane=Lane.LIVE)
    live_start = starts(await rig.wait_notes(live, lambda notes: ends(notes)))[0]["at"]
    assert live_start - enqueued < 1.0, "the live job waited"
    second_upload = starts(await rig.wait_notes(uploads[1], lambda notes: starts(notes)))[0]["at"]
    assert live_start < second_upload
    first_upload_end = ends(await rig.wait_notes(uploads[0], lambda notes: ends(notes)))[0]["at"]
    assert live_start < first_upload_end, "the live job ran beside the upload, not after it"


async def test_a_killed_workers_job_is_finished_by_another(jobs_rig):
    rig = await jobs_rig(dead_worker_timeout=3, backoff_base=0.5)
    first, second = await rig.start_worker(), await rig.start_worker()
    marker = rig.marker()
    assert await rig.sleep_job(marker, 6.0)
    begun = starts(await rig.wait_notes(marker, lambda notes: starts(notes)))[0]
    victim = first if begun["pid"] == first.proc.pid else second
    survivor = second if victim is first else first
    await asyncio.sleep(1.0)
    killed_at = time.time()
    victim.kill()
    notes = await rig.wait_notes(marker, lambda notes: ends(notes), timeout=60)
    retry = starts(notes)[1]
    recovery = retry["at"] - killed_at
    print(f"\nrecovery after SIGKILL: {recovery:.2f} s (dead_worker_timeout 3 s)")
    assert (retry["attempt"], retry["pid"]) == (2, survivor.proc.pid)
    assert [n["pid"] for n in ends(notes)] == [survivor.proc.pid]
    # No heartbeat for 3 s (the last one came at most 1 s before the kill), then the next
    # sweep (every second) puts it straight back on the queue; 3 s of slack for a busy machine.
    assert 2.0 <= recovery <= 3.0 + 1.0 + 3.0, recovery
    swept = [e for e in survivor.log_events() if e.get("event") == "job.swept"]
    assert [e["job"] for e in swept] == [marker]


async def test_a_stopping_worker_finishes_short_jobs_and_hands_back_long_ones(jobs_rig):
    rig = await jobs_rig(concurrency=2, shutdown_grace=2, max_tries=1)
    stopping = await rig.start_worker()
    short, long = rig.marker(), rig.marker()
    assert await rig.sleep_job(short, 1.0)
    assert await rig.sleep_job(long, 4.0)
    await rig.wait_notes(long, lambda notes: starts(notes))
    await stopping.stop()
    assert stopping.proc.returncode == 0
    assert [n["event"] for n in await rig.notes(short)] == ["start", "end"], "finished within the grace"
    assert [n["event"] for n in await rig.notes(long)] == ["start"], "cancelled after the grace"
    events = [e["event"] for e in stopping.log_events()]
    assert "job.handed_back" in events and events[-1] == "worker.stopped"
    successor = await rig.start_worker()
    notes = await rig.wait_notes(long, lambda notes: ends(notes))
    # Its only try (max_tries=1) was not used up by the shutdown: it runs to the end elsewhere.
    assert [(n["event"], n["attempt"], n["pid"]) for n in notes[1:]] == [
        ("start", 1, successor.proc.pid), ("end", 1, successor.proc.pid)
    ]


# ------------------------------------------------------------------ the real transcode


async def video_status(api: Api, owner: Account, video_id: str,
                       done: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not done(status := (await api.call("GET", f"/videos/{video_id}/status", account=owner)).body):
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.1)
    return status


async def test_a_transcode_killed_midway_is_retried_and_the_video_becomes_ready(
    jobs_rig, api: Api, vod_node, tmp_path
):
    owner = await api.register(creator=True)
    source = tmp_path / "source.mp4"
    await make_file(source, Source(seconds=30, realtime=False))
    video_id, raw_key = await uploaded(api, owner, source.read_bytes(), "Killed midway")
    rig = await jobs_rig(storage_root=vod_node.node.settings.data_dir / "storage")
    transcode = {
        "TRIBUTARY_TRANSCODE__HEIGHTS": "[360, 240]",
        "TRIBUTARY_TRANSCODE__PRESET": "veryfast",
        "TRIBUTARY_TRANSCODE__PROGRESS_INTERVAL": "0.2",
    }
    first = await rig.start_worker(transcode)
    assert await rig.queue.enqueue_transcode(video_id, raw_key)
    status = await video_status(api, owner, video_id, lambda s: s["progress_percent"] > 0
                                or s["status"] in ("ready", "failed"), timeout=120)
    assert status["status"] == "processing", status
    killed_progress = status["progress_percent"]
    children = psutil.Process(first.proc.pid).children(recursive=True)
    first.kill()
    killed_at = time.monotonic()
    second = await rig.start_worker(transcode)
    status = await video_status(api, owner, video_id,
                                lambda s: s["status"] in ("ready", "failed"), timeout=240)
    assert status["status"] == "ready", status
    print(f"\ntranscode killed at {killed_progress} %: ready {time.monotonic() - killed_at:.1f} s later")
    assert not [child for child in children if child.is_running()], "the killed worker's encoder lives on"
    tries = [(e["job"], e["attempt"]) for e in second.log_events() if e.get("event") == "job.started"]
    assert tries == [(f"transcode-{video_id}", 2)]
    got = await api.call("GET", f"/videos/{video_id}", account=owner)
    assert got.body["playback_url"], got.body
