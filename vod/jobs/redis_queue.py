"""saq's Redis queue as workers use it: this project's backoff, a hook for jobs that failed for
good, a sweep that neither steals a job being started nor loses one it moves, and fencing, so
a try that was given up on cannot overwrite the try that replaced it.

The sweep (saq calls it every ``timers["sweep"]`` seconds from some worker; a lock in Redis
lets one run at a time) looks at every job on the active list:

- its record is gone: taken off the lists;
- ``active`` and no heartbeat for ``job.heartbeat`` seconds: its worker is dead (or stuck), the
  job is retried, or ends ``aborted`` when it has no tries left;
- still ``queued``: a worker moved it there a moment ago and is marking it active, or died
  doing so. saq sweeps it at once (issue #277), which runs it twice; here it is re-read after
  :data:`CLAIM_GRACE` and swept only if still unclaimed.

A sweep moves a job with one Redis transaction (saq's ``retry``: off the active list, onto the
queue), so a sweeper that dies midway leaves the job where the next sweep finds it; saq's own
sweep takes it off the active list first and re-queues it up to 5 s later.

Fencing: a try is identified by the worker and try number saq stores when it starts. A worker
thought dead may still be running (a stalled loop); when it writes later (a heartbeat, a retry,
a finish) and the stored job names another try, the write is dropped and the heartbeat stops
the try (:meth:`WorkerQueue.heartbeat`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
import structlog
from saq.job import Job, Status
from saq.queue.redis import RedisQueue
from saq.utils import now

from vod.jobs.metrics import FAILED, RETRIED

log = structlog.get_logger(__name__)

SWEPT = "its worker stopped sending heartbeats (killed, or stuck)"
"""The error a job swept from a dead worker carries (and, after its last try, its reason)."""

HANDED_BACK = "cancelled"
"""The error saq's ``Worker.process`` retries a job with when its worker shuts down."""

CLAIM_GRACE = 3.0
"""Seconds a worker may take to mark a job it took ``active`` (it takes milliseconds)."""

FinalFailure = Callable[[Job, str], Awaitable[None]]
"""Called with a job that ended unsuccessfully for good, and one readable line saying why."""


def backoff_delay(tries: int, base: float) -> float:
    """Seconds to wait before the next try, after ``tries`` tries: ``base · 2^(tries−1)``, the
    first half fixed and the second random ("equal jitter"): retries of many jobs spread out,
    yet never come back sooner than half the delay."""
    full = base * 2 ** max(tries - 1, 0)
    return full / 2 + random.uniform(0, full / 2)


def readable(error: str | None) -> str:
    """One line of a stored error: the last line of a traceback is the exception itself."""
    lines = (error or "").strip().splitlines()
    last = lines[-1].strip() if lines else "unknown error"
    return "timed out" if last in ("TimeoutError", "asyncio.exceptions.TimeoutError") else last


def failure_reason(job: Job) -> str:
    what = readable(job.error)
    if what == "timed out":
        what = f"timed out after {job.timeout} s"
    tries = "1 try" if job.attempts == 1 else f"{job.attempts} tries"
    return f"{what} ({tries})"[:500]


class WorkerQueue(RedisQueue):
    def __init__(
        self,
        redis_client: redis.Redis,
        name: str,
        *,
        backoff_base: float,
        on_final_failure: FinalFailure,
    ) -> None:
        super().__init__(redis_client, name=name, swept_error_message=SWEPT)
        self._backoff_base = backoff_base
        self._on_final_failure = on_final_failure

    async def _owns(self, job: Job) -> bool:
        """Whether the stored job is still at the try ``job`` describes."""
        stored = await self.job(job.key)
        return (
            stored is not None
            and stored.worker_id == job.worker_id
            and stored.attempts == job.attempts
        )

    async def heartbeat(self, job: Job) -> bool:
        """Touch a running job (the sweep's proof of life); False, touching nothing, if the job
        has moved on to another try."""
        if not await self._owns(job):
            log.warning("job.superseded", task=job.function, job=job.key, attempt=job.attempts)
            return False
        await self.update(job)
        return True

    async def retry(self, job: Job, error: str | None) -> None:
        if not await self._owns(job):
            log.warning("job.superseded", task=job.function, job=job.key, attempt=job.attempts)
            return
        if error == HANDED_BACK:
            # A shutdown is not the job's fault: another worker may take it at once, and it
            # keeps the try it had (otherwise every deploy would use up a transcode's tries).
            job.attempts -= 1
            job.retry_delay = 0.0
            log.info("job.handed_back", task=job.function, job=job.key)
        elif error == SWEPT:
            # Its worker died: the try counts (a job that kills workers runs out of tries), but
            # dead_worker_timeout has been waited already, so another worker takes it at once.
            job.retry_delay = 0.0
        else:
            job.retry_delay = backoff_delay(job.attempts, self._backoff_base)
            log.warning(
                "job.retrying", task=job.function, job=job.key, attempt=job.attempts,
                reason=readable(error), delay=round(job.retry_delay, 2),
            )
        RETRIED.labels(job.function).inc()
        await super().retry(job, error)

    async def finish(
        self, job: Job, status: Status, *, result: Any = None, error: str | None = None, **kwargs: Any
    ) -> None:
        if not await self._owns(job):
            log.warning("job.superseded", task=job.function, job=job.key, attempt=job.attempts)
            return
        await super().finish(job, status, result=result, error=error, **kwargs)
        if status is Status.COMPLETE:
            return
        reason = failure_reason(job)
        FAILED.labels(job.function).inc()
        log.error("job.failed", task=job.function, job=job.key, reason=reason)
        try:
            await self._on_final_failure(job, reason)
        except Exception:  # the job is over either way; say loudly that its owner was not told
            log.exception("job.failure_hook_failed", task=job.function, job=job.key)

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """Re-queue (or end) the jobs of dead workers; see the module docstring. ``abort`` is
        unused: nothing is asked to abort, a dead worker could not answer."""
        lock_key = self.namespace("sweep")
        if not await self.redis.set(lock_key, 1, ex=max(1, int(lock)), nx=True):
            return []
        active_list = self.namespace("active")
        swept: list[str] = []
        unclaimed: list[Job] = []
        for job_id in await self.redis.lrange(active_list, 0, -1):
            job = self.deserialize(await self.redis.get(job_id))
            if job is None:
                await self.redis.pipeline(transaction=True).lrem(active_list, 0, job_id).zrem(
                    self.namespace("incomplete"), job_id
                ).execute()
                swept.append(job_id.decode())
            elif job.status is Status.QUEUED:
                unclaimed.append(job)
            elif job.status is Status.ACTIVE and _heartbeat_lapsed(job):
                await self._reclaim(job)
                swept.append(job.id)
        if unclaimed:
            await self.redis.expire(lock_key, int(CLAIM_GRACE) + 2)  # no second sweeper meanwhile
            await asyncio.sleep(CLAIM_GRACE)
            for job in await self.jobs(j.key for j in unclaimed):
                if (
                    job is not None
                    and job.status is Status.QUEUED
                    and await self.redis.lpos(active_list, job.id) is not None
                ):
                    await self._reclaim(job)
                    swept.append(job.id)
        return swept

    async def _reclaim(self, job: Job) -> None:
        log.warning("job.swept", task=job.function, job=job.key, attempt=job.attempts,
                    worker=job.worker_id)
        if job.retryable:
            await self.retry(job, SWEPT)
        else:
            await self.finish(job, Status.ABORTED, error=SWEPT)


def _heartbeat_lapsed(job: Job) -> bool:
    return bool(job.heartbeat) and now() - job.touched > job.heartbeat * 1000
