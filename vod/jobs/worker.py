"""Runs jobs: one saq worker per lane, every registered task wrapped with a heartbeat, metrics
and logs.

Each lane has its own slots (``jobs.live_concurrency``, ``jobs.concurrency``), so a live job
starts while uploads fill theirs. A try's heartbeat touches its job every third of
``jobs.dead_worker_timeout``; when the process dies the touches stop and a sweep (run by every
worker in turn, every third of that timeout) hands the job to another try
(:mod:`vod.jobs.redis_queue`). :meth:`Worker.stop` lets running tries finish within
``jobs.shutdown_grace`` and hands the others back to the queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import redis.asyncio as redis
import saq
import structlog
from saq.job import Job
from saq.types import Context

from tributary.settings import JobSettings
from vod.jobs.metrics import DURATION, QUEUED, RUNNING, STARTED, SUCCEEDED
from vod.jobs.queue import Lane, lane_queue_name, waiting
from vod.jobs.redis_queue import WorkerQueue
from vod.jobs.tasks import JobContext, JobDeps, Task

log = structlog.get_logger(__name__)

DEPTH_INTERVAL = 5.0
"""Seconds between reads of the queue depth for ``tributary_jobs_queued``."""

CANCEL_DEADLINE = 5.0
"""Seconds a cancelled try gets to clean up (stop its encoder, say) before saq moves on."""


class _LaneWorker(saq.Worker):
    """saq's worker without its signal handlers (the process owns SIGINT and SIGTERM:
    ``tributary.cli``) and without sleeping out its upkeep timers when it stops: the sweep is
    safe to cut short (:mod:`vod.jobs.redis_queue`), the other upkeep is bookkeeping."""

    SIGNALS: ClassVar[list[Any]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._upkeep: list[asyncio.Task[None]] = []

    async def upkeep(self) -> list[asyncio.Task[None]]:
        self._upkeep = await super().upkeep()
        return self._upkeep

    async def stop(self) -> None:
        self.event.set()
        for task in self._upkeep:
            task.cancel()
        await super().stop()


class Worker:
    """Runs the jobs of both lanes with ``tasks``, giving them ``deps``."""

    def __init__(
        self, redis_url: str, settings: JobSettings, tasks: Mapping[str, Task], deps: JobDeps
    ) -> None:
        self._redis_url = redis_url
        self._settings = settings
        self._tasks = dict(tasks)
        self._deps = deps
        self._lanes: dict[Lane, _LaneWorker] = {}
        self._queues: dict[Lane, WorkerQueue] = {}
        self._runs: list[asyncio.Task[None]] = []
        self._depth: asyncio.Task[None] | None = None

    async def start(self) -> None:
        s = self._settings
        sweep_interval = max(1, s.dead_worker_timeout // 3)
        for lane, concurrency in ((Lane.LIVE, s.live_concurrency), (Lane.UPLOADS, s.concurrency)):
            queue = WorkerQueue(
                redis.from_url(self._redis_url),
                lane_queue_name(s, lane),
                backoff_base=s.backoff_base,
                on_final_failure=self._final_failure,
            )
            self._queues[lane] = queue
            await queue.connect()
            worker = _LaneWorker(
                queue,
                [(name, self._runner(task, lane, queue)) for name, task in self._tasks.items()],
                concurrency=concurrency,
                # Idle slots return from Redis every second, so a stop never waits on them.
                dequeue_timeout=1.0,
                timers={"schedule": 1, "abort": 1, "worker_info": 10, "sweep": sweep_interval},
                shutdown_grace_period_s=s.shutdown_grace,  # type: ignore[arg-type]  # float is fine
                cancellation_hard_deadline_s=CANCEL_DEADLINE,
            )
            self._lanes[lane] = worker
            self._runs.append(asyncio.create_task(worker.start(), name=f"jobs-{lane.value}"))
        self._depth = asyncio.create_task(self._report_depth(), name="jobs-depth")

    async def stop(self) -> None:
        """Running tries get ``jobs.shutdown_grace`` to finish; the rest go back to the queue."""
        if self._depth is not None:
            self._depth.cancel()
            await asyncio.wait([self._depth])
            self._depth = None
        lanes = list(self._lanes.values())
        self._lanes.clear()
        await asyncio.gather(*(worker.stop() for worker in lanes))
        if self._runs:
            await asyncio.wait(self._runs)
            self._runs.clear()
        for queue in self._queues.values():
            await queue.disconnect()
        self._queues.clear()

    def _runner(self, task: Task, lane: Lane, queue: WorkerQueue) -> Callable[..., Awaitable[None]]:
        heartbeat_every = self._settings.dead_worker_timeout / 3

        async def run(ctx: Context, **kwargs: Any) -> None:
            job: Job = ctx["job"]
            this_try = asyncio.current_task()
            assert this_try is not None

            async def heartbeat() -> None:
                while True:
                    await asyncio.sleep(heartbeat_every)
                    try:
                        still_ours = await queue.heartbeat(job)
                    except Exception as exc:  # Redis hiccup: the next beat may get through
                        log.warning("job.heartbeat_failed", job=job.key, error=repr(exc))
                        still_ours = True
                    if _cancel_swallowed():
                        return
                    if not still_ours:  # swept meanwhile: another try owns the job now
                        this_try.cancel()
                        return

            beats = asyncio.create_task(heartbeat(), name=f"heartbeat {job.key}")
            log.info("job.started", task=task.name, job=job.key, lane=lane.value,
                     attempt=job.attempts)
            STARTED.labels(task.name).inc()
            RUNNING.labels(lane.value).inc()
            started = time.monotonic()
            outcome = "error"
            try:
                await task.run(JobContext(self._deps, job.attempts, job.retries), **kwargs)
                outcome = "succeeded"
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            finally:
                beats.cancel()
                await asyncio.wait([beats])
                RUNNING.labels(lane.value).dec()
                DURATION.labels(task.name, outcome).observe(time.monotonic() - started)
            SUCCEEDED.labels(task.name).inc()
            log.info("job.succeeded", task=task.name, job=job.key,
                     seconds=round(time.monotonic() - started, 2))

        return run

    async def _final_failure(self, job: Job, reason: str) -> None:
        task = self._tasks.get(job.function)
        if task is not None and task.on_final_failure is not None:
            await task.on_final_failure(self._deps, job.kwargs or {}, reason)

    async def _report_depth(self) -> None:
        while True:
            for lane, queue in self._queues.items():
                try:
                    QUEUED.labels(lane.value).set(await waiting(queue))
                except Exception as exc:  # readiness reports Redis trouble; this is a gauge
                    log.debug("jobs.depth_unavailable", lane=lane.value, error=repr(exc))
            if _cancel_swallowed():
                return
            await asyncio.sleep(DEPTH_INTERVAL)


def _cancel_swallowed() -> bool:
    """Whether this task was cancelled while a Redis command ran and the cancellation got lost.

    redis-py (8.1.0, measured: 13 to 19 of 20 cancellations that land mid-command) swallows the
    CancelledError, or turns it into a ConnectionError, and carries on; a loop that talks to
    Redis must check after each command or it outlives its cancel (its owner then waits on it).
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
