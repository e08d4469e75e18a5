"""The dispatcher: makes deliveries of new events and sends due ones, inside a worker.

One loop task, woken by the ``tributary_webhooks`` notification (a new event), by a finished
delivery (a free slot) or by the next due retry (at most ``poll_interval`` apart, which also
catches leases run out and notifications missed while the listening connection was down):

1. new events get their body and one delivery per configured endpoint (``Outbox.fan_out``);
2. every endpoint with free slots (``concurrency`` each) claims that many due deliveries, each
   sent by a task of its own: endpoints never share slots, so a receiver that hangs holds up
   only its own deliveries;
3. now and then, old events are deleted (``retention``).

A try's result is written by its task: delivered; else retried after the backoff; else, with
``max_attempts`` used, failed with the last error. Stopping cancels the tries in flight and
hands their claims back uncounted. The database is the only shared state, so any number of
workers can run a dispatcher; each takes disjoint deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
import structlog

from tributary.settings import WebhookSettings
from webhooks import metrics
from webhooks.backoff import retry_delay
from webhooks.delivery import Outcome, Result, attempt
from webhooks.events import render_body
from webhooks.outbox import NOTIFY_CHANNEL, Claim, Outbox

log = structlog.get_logger(__name__)

_DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
_ACQUIRE_TIMEOUT = 10.0
_PRUNE_EVERY = 600.0
_MIN_PAUSE = 0.05


def _user_agent() -> str:
    try:
        return f"Tributary-Webhooks/{version('tributary')}"
    except PackageNotFoundError:
        return "Tributary-Webhooks"


@dataclass(eq=False)
class _Endpoint:
    url: str
    label: str
    """Its position in ``webhooks.urls``: the metrics label and the log field."""
    in_flight: dict[asyncio.Task[None], Claim] = field(default_factory=dict)


class Dispatcher:
    def __init__(
        self, settings: WebhookSettings, pool: asyncpg.Pool, *, site_url: Callable[[], str]
    ) -> None:
        """``site_url()``: the public base URL of the site (no trailing slash), for the links
        in event bodies; asked when deliveries are made."""
        self._settings = settings
        self._pool = pool
        self._outbox = Outbox(pool)
        self._site_url = site_url
        self._endpoints = [
            _Endpoint(str(url), str(index)) for index, url in enumerate(settings.urls)
        ]
        self._urls = [endpoint.url for endpoint in self._endpoints]
        self._secret = settings.secret.get_secret_value() if settings.secret is not None else ""
        # A try is bounded by request_timeout; the lease leaves as much again, and a second, for
        # writing the result from a busy loop before another worker may take the delivery.
        self._lease = 2 * settings.request_timeout + 1.0
        self._wake = asyncio.Event()
        self._listening: asyncpg.pool.PoolConnectionProxy | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._next_prune = 0.0
        self._failing = False

    async def start(self) -> None:
        # Each try is bounded by its own timeout (delivery.attempt); the connector's limit is
        # every endpoint's slots, so it never queues a try behind another endpoint's.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(1, len(self._endpoints)) * self._settings.concurrency),
            headers={"User-Agent": _user_agent()},
            auto_decompress=False,
        )
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name="webhooks-dispatcher")
        log.debug("webhooks.dispatcher_started", endpoints=len(self._endpoints))

    async def stop(self) -> None:
        """Cancel the loop and the tries in flight, and hand those tries' claims back."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        interrupted: list[Claim] = []
        for endpoint in self._endpoints:
            tasks = list(endpoint.in_flight)
            for task in tasks:
                if not task.done():
                    interrupted.append(endpoint.in_flight[task])
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            endpoint.in_flight.clear()
        if interrupted:
            try:
                await self._outbox.release(interrupted)
            except _DATABASE_ERRORS as exc:  # their leases run out instead
                log.warning("webhooks.release_failed", deliveries=len(interrupted), error=type(exc).__name__)
        await self._stop_listening()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self._cycle()
                if self._failing:
                    self._failing = False
                    log.info("webhooks.database_back")
            except _DATABASE_ERRORS as exc:
                if not self._failing:  # once per outage, not once per poll
                    self._failing = True
                    log.warning("webhooks.database_unavailable", error=type(exc).__name__)
                delay = self._settings.poll_interval
            except Exception:  # a bug: logged, and the next cycle tries again
                log.exception("webhooks.cycle_failed")
                delay = self._settings.poll_interval
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _cycle(self) -> float:
        """One round of work; seconds until the next is needed."""
        await self._listen()
        await self._outbox.fan_out(self._urls, self._render)
        for endpoint in self._endpoints:
            free = self._settings.concurrency - len(endpoint.in_flight)
            if free > 0:
                for claim in await self._outbox.claim(endpoint.url, free, self._lease):
                    self._send(endpoint, claim)
        # Endpoints with every slot busy are left out: a finished try wakes the loop, and their
        # due deliveries would otherwise make it spin.
        open_urls = [e.url for e in self._endpoints if len(e.in_flight) < self._settings.concurrency]
        now = time.monotonic()
        if now >= self._next_prune:
            pruned = await self._outbox.prune(self._settings.retention, self._urls)
            if pruned:
                log.debug("webhooks.pruned", events=pruned)
            self._next_prune = now + min(self._settings.retention, _PRUNE_EVERY)
        delay = min(self._settings.poll_interval, self._next_prune - now)
        if open_urls:
            due_in = await self._outbox.next_due_in(open_urls)
            if due_in is not None:
                delay = min(delay, due_in)
        # A due delivery another worker is claiming right now cannot be taken: a short pause,
        # not a spin.
        return max(delay, _MIN_PAUSE)

    def _render(self, event_id: UUID, event_type: str, created_at: datetime, data: dict[str, Any]) -> str:
        return render_body(event_id, event_type, created_at, data, self._site_url())

    def _send(self, endpoint: _Endpoint, claim: Claim) -> None:
        task = asyncio.get_running_loop().create_task(
            self._deliver(endpoint, claim), name="webhooks-delivery"
        )
        endpoint.in_flight[task] = claim
        task.add_done_callback(partial(self._sent, endpoint))

    def _sent(self, endpoint: _Endpoint, task: asyncio.Task[None]) -> None:
        endpoint.in_flight.pop(task, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("webhooks.delivery_crashed", endpoint=endpoint.label, exc_info=exc)
        self._wake.set()

    async def _deliver(self, endpoint: _Endpoint, claim: Claim) -> None:
        assert self._session is not None
        outcome = await attempt(
            self._session, endpoint.url, self._secret, claim, self._settings.request_timeout
        )
        metrics.ATTEMPTS.labels(endpoint.label, outcome.result.value).inc()
        metrics.ATTEMPT_SECONDS.labels(endpoint.label).observe(outcome.seconds)
        try:
            await self._record(endpoint, claim, outcome)
        except _DATABASE_ERRORS as exc:  # the lease runs out and the delivery is tried again
            log.warning(
                "webhooks.result_not_recorded", endpoint=endpoint.label,
                delivery=str(claim.delivery_id), error=type(exc).__name__,
            )

    async def _record(self, endpoint: _Endpoint, claim: Claim, outcome: Outcome) -> None:
        fields = {
            "endpoint": endpoint.label, "delivery": str(claim.delivery_id),
            "event_type": claim.event_type, "attempt": claim.attempt,
        }
        if outcome.result is Result.OK:
            assert outcome.status is not None
            if await self._outbox.delivered(claim, outcome.status):
                metrics.DELIVERIES.labels(endpoint.label, "delivered").inc()
                lag = time.time() - claim.event_created_at.timestamp()
                metrics.DELIVERY_LAG.labels(endpoint.label).observe(max(0.0, lag))
                log.debug("webhooks.delivered", status=outcome.status, **fields)
            return
        error = outcome.error or outcome.result.value
        if claim.attempt >= self._settings.max_attempts:
            if await self._outbox.failed(claim, outcome.status, error):
                metrics.DELIVERIES.labels(endpoint.label, "failed").inc()
                log.warning("webhooks.delivery_failed", error=error, **fields)
            return
        s = self._settings
        delay = retry_delay(claim.attempt, s.backoff_base, s.backoff_cap)
        if await self._outbox.retry_later(claim, delay, outcome.status, error):
            log.info("webhooks.delivery_retry", error=error, retry_in=round(delay, 1), **fields)

    async def _listen(self) -> None:
        """Keep a connection listening for new events; a broken one is replaced next cycle
        (meanwhile polling covers)."""
        if self._listening is not None and not self._listening.is_closed():
            return
        await self._stop_listening()
        conn = await self._pool.acquire(timeout=_ACQUIRE_TIMEOUT)
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._notified)
        except BaseException:
            await self._pool.release(conn)
            raise
        self._listening = conn

    async def _stop_listening(self) -> None:
        conn, self._listening = self._listening, None
        if conn is None:
            return
        with contextlib.suppress(*_DATABASE_ERRORS):
            if not conn.is_closed():
                await conn.remove_listener(NOTIFY_CHANNEL, self._notified)
        await self._pool.release(conn)

    def _notified(self, *_args: object) -> None:
        self._wake.set()
