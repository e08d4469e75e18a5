"""Where work goes in: :class:`JobQueue` enqueues jobs into a lane and reads how many wait.

A job's key names what it works on (``transcode-<video id>``), and saq refuses a key that is
already waiting, running or scheduled for a retry, so enqueueing the same video twice runs it
once. Once the job has finished, the same key may run again (a deliberate re-transcode).

Timeout, tries and heartbeat are stamped on each job from the enqueuer's ``[jobs]`` settings.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from saq.job import Job
from saq.queue.redis import RedisQueue

from tributary.settings import JobSettings

TRANSCODE = "transcode"
"""The task that turns an uploaded file into an HLS video (:mod:`vod.jobs.tasks`)."""

FINISHED_JOB_TTL = 24 * 3600
"""Seconds a finished job's record (status, error) stays in Redis for inspection."""


class Lane(StrEnum):
    """A priority, as a queue of its own with worker slots of its own (see :mod:`vod.jobs`)."""

    LIVE = "live"
    """Work derived from live streams: never waits behind uploads."""
    UPLOADS = "uploads"
    """Transcodes of uploaded videos: long, and as many as people upload."""


def lane_queue_name(settings: JobSettings, lane: Lane) -> str:
    return f"{settings.queue_name}-{lane.value}"


async def waiting(queue: RedisQueue) -> int:
    """Jobs of ``queue`` not running: queued now, or scheduled for a retry."""
    return max(0, await queue.count("incomplete") - await queue.count("active"))


class JobQueue:
    """Enqueues jobs; one per process that hands out work (the API node, the recorder)."""

    def __init__(self, redis_url: str, settings: JobSettings) -> None:
        self._settings = settings
        self._queues = {
            lane: RedisQueue.from_url(redis_url, name=lane_queue_name(settings, lane))
            for lane in Lane
        }

    async def enqueue(self, task: str, key: str, lane: Lane, **kwargs: Any) -> bool:
        """Enqueue ``task(**kwargs)`` as job ``key`` in ``lane``; False if that key is already
        waiting, running or scheduled for a retry (the job then runs once, as enqueued first)."""
        s = self._settings
        job = Job(
            function=task,
            kwargs=kwargs,
            key=key,
            timeout=s.job_timeout,
            heartbeat=s.dead_worker_timeout,
            retries=s.max_tries,
            ttl=FINISHED_JOB_TTL,
        )
        return await self._queues[lane].enqueue(job) is not None

    async def enqueue_transcode(self, public_id: str, raw_key: str) -> bool:
        """Transcode the uploaded file at storage key ``raw_key`` into video ``public_id``."""
        return await self.enqueue(
            TRANSCODE, f"{TRANSCODE}-{public_id}", Lane.UPLOADS, public_id=public_id, raw_key=raw_key
        )

    async def depth(self) -> dict[Lane, int]:
        """Jobs waiting per lane (queued, or scheduled for a retry), for metrics and operators."""
        return {lane: await waiting(queue) for lane, queue in self._queues.items()}

    async def close(self) -> None:
        for queue in self._queues.values():
            await queue.disconnect()
