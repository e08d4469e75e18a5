"""The registry of job functions: what a worker can run, and what each gets.

A :class:`Task` is a name (what the queue stores), the coroutine that does the work and,
optionally, what to do when the job has failed for good. Task functions are called as
``run(ctx, **kwargs)`` with the job's keyword arguments; they raise to fail a try (it is
retried while tries remain) and must tolerate running again after a partial try: a retry, or
a worker killed midway, starts them over.

The built-in tasks are :data:`TASKS`; ``jobs.task_modules`` names further modules whose
``TASKS`` tuple is added (plugins, and the test suite's test jobs).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import redis.asyncio as redis

from catalog.videos import Status, Videos
from tributary.settings import Settings
from vod.jobs.queue import TRANSCODE
from vod.storage import Storage


@dataclass(frozen=True, slots=True)
class JobDeps:
    """What job functions may use: opened once per worker, shared by all its jobs."""

    settings: Settings
    pool: asyncpg.Pool
    storage: Storage
    redis: redis.Redis


@dataclass(frozen=True, slots=True)
class JobContext:
    deps: JobDeps
    attempt: int
    """This try's number, from 1."""
    max_tries: int


JobFunction = Callable[..., Awaitable[None]]
"""``run(ctx: JobContext, **kwargs)``."""

FailureHandler = Callable[[JobDeps, Mapping[str, Any], str], Awaitable[None]]
"""``on_final_failure(deps, kwargs, reason)``: ``reason`` is one readable line."""


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    run: JobFunction
    on_final_failure: FailureHandler | None = None


async def _transcode(ctx: JobContext, *, public_id: str, raw_key: str) -> None:
    # Imported when a transcode runs, not when this module loads: the pipeline is its own part
    # of vod/, and the queue (and everything that enqueues) must work without loading it.
    from vod.transcode.pipeline import TranscodeDeps, transcode_video

    d = ctx.deps
    await transcode_video(TranscodeDeps.from_settings(d.settings, d.storage, d.pool), public_id, raw_key)


async def mark_video_failed(deps: JobDeps, kwargs: Mapping[str, Any], reason: str) -> None:
    """The video of ``kwargs["public_id"]`` ends ``failed`` with ``reason``, unless it was
    deleted meanwhile, is ready (it stays playable) or already failed (the task said why, in
    words meant for its owner). Needed when no try could say it: timeouts, dead workers."""
    videos = Videos(deps.pool)
    video = await videos.get(kwargs["public_id"])
    if video is not None and video.status not in (Status.READY, Status.FAILED):
        await videos.set_status(video.id, Status.FAILED, failure_reason=reason)


TASKS: tuple[Task, ...] = (Task(TRANSCODE, _transcode, mark_video_failed),)


def registry(extra_modules: Sequence[str] = ()) -> dict[str, Task]:
    """Every task by name: :data:`TASKS` plus the ``TASKS`` of each module named."""
    tasks = {task.name: task for task in TASKS}
    for module in extra_modules:
        for task in importlib.import_module(module).TASKS:
            if task.name in tasks:
                raise ValueError(f"{module} registers task {task.name!r} a second time")
            tasks[task.name] = task
    return tasks
