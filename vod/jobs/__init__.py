"""Background jobs (transcodes of uploads, work derived from live streams) on a durable queue in
Redis, run by workers: ``tributary serve worker`` processes, or one inside the all-in-one node.

Public face: :class:`JobQueue` (enqueue, queue depth), :class:`Worker` (runs the jobs),
:func:`registry` and :class:`Task` (which job functions exist), :class:`JobDeps` (what they
get), :class:`Lane` (priority).

Why saq, not arq
----------------
Both were read at the source (saq 0.26.4, arq 0.28.0) for what this queue needs:

============================ ============================================ ==============================================
need                         saq (Redis queue)                            arq
============================ ============================================ ==============================================
durable                      job record + ``queued``/``active`` lists;    job in a sorted set until it finishes
                             BLMOVE moves a job it hands out to active
retry with backoff           any exception is retried while tries         only when the job raises ``Retry(defer=…)``;
                             remain, with a delay (``retry_delay``)       any other exception fails the job for good
job timeout                  ``timeout`` per job; a timeout is retried    ``job_timeout``; a timeout fails for good
worker SIGKILLed mid-job     ``heartbeat`` per job: a job whose record    the job's ``in-progress`` key expires after
                             was not touched for that long is swept       ``job_timeout + 10 s``: with 2 h transcodes, a
                             (aborted, then retried) by any worker        dead worker's job waits 2 h for a new try
concurrency per worker       ``concurrency``                              ``max_jobs``
priorities                   only on its PostgreSQL queue                 none
============================ ============================================ ==============================================

saq does four of six out of the box and the fifth with a heartbeat the job sends
(``job.update()``, its documented way); arq would need retries, timeouts-as-retries and a
hand-made lease extension on its private in-progress key. So: saq, pinned to 0.26.x.

What is added on top (:mod:`vod.jobs.redis_queue`, :mod:`vod.jobs.worker`), and why:

- **Priorities as lanes.** saq's Redis queue has no priorities, so there are two queues,
  ``live`` and ``uploads`` (:class:`Lane`), and every worker runs both, each with its own
  concurrency (``jobs.live_concurrency``, ``jobs.concurrency``). Live-derived work has slots
  that uploads can never occupy, so it never waits behind a two-hour transcode, which a
  shared pool that merely dequeues the live queue first could not promise: with every slot
  busy transcoding, the first live job would still wait for a transcode to end.
- **A sweep that cannot steal a job being started.** saq's Redis sweep takes any job in the
  active list whose status is not ``active`` for abandoned; a job a worker has just moved there
  but not yet marked active looks exactly like that (saq issues #124 and #277, the latter open
  at 0.26.4; reproduced here on the first try: a job enqueued as a worker started was swept
  before it ran). Its sweep also takes a job off the active list before re-queueing it, so a
  sweeper killed in between loses the job. The sweep here re-reads such jobs after a grace
  period and leaves a job listed until it is re-queued (see :mod:`vod.jobs.redis_queue`).
- **Exponential backoff with a floor.** saq's backoff is "full jitter", random between zero
  and the cap, so two tries can come back to back; here the delay is half fixed, half random
  (``backoff_base · 2^(try−1)``), so a transient outage (storage, database restart) is really
  waited out.
- **Failure hook.** When a job ends unsuccessfully for good (errors or timeouts on every try,
  or its worker died on the last one), its task's ``on_final_failure`` runs, so a video ends
  ``failed`` with a reason instead of staying ``processing``.
- **Hand-back is not a try.** A job cancelled because its worker shuts down goes back to the
  queue at once, without using up one of its tries (deploys would otherwise fail transcodes).

Recovery after a worker is SIGKILLed: ``dead_worker_timeout`` without a heartbeat, then the
next sweep (every third of that timeout) puts the job straight back on the queue: 30 to 40 s
with the defaults (set the timeout lower for faster recovery, at more Redis writes per running
job). Measured in ``tests/vod/test_jobs.py`` with a 3 s timeout: 4 to 5 s from SIGKILL to the
new try; a transcode killed at 10 to 22 % was ready 11 to 15 s later.
"""

from vod.jobs.queue import JobQueue, Lane
from vod.jobs.tasks import JobContext, JobDeps, Task, registry
from vod.jobs.worker import Worker

__all__ = ["JobContext", "JobDeps", "JobQueue", "Lane", "Task", "Worker", "registry"]
