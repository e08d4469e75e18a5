"""The outbox in PostgreSQL (migration 0009): the SQL that records events, makes their
deliveries, claims due ones, writes each try's result and deletes what is old.

Claims are leases, not open transactions: a claim counts the try and moves the delivery's
``next_attempt_at`` past the time the try may take, in one statement with ``FOR UPDATE SKIP
LOCKED``, so workers never take the same delivery while it is leased, no connection is held
during a request, and a worker that dies mid-request leaves the delivery due again when the
lease runs out (at least once). Results are written only while ``attempts`` still names the
claiming try, so a late answer cannot overwrite a newer try's; "delivered" is written whatever
the try, since it cannot be wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from webhooks.events import EventType, rfc3339

NOTIFY_CHANNEL = "tributary_webhooks"
"""What the insert trigger on ``webhook_events`` notifies."""

_FAN_OUT_BATCH = 100
_PRUNE_BATCH = 1000

BodyRenderer = Callable[[UUID, str, datetime, dict[str, Any]], str]
"""``(event id, type, created at, data) → body``: :func:`webhooks.events.render_body` with the
site's URL."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One try of one delivery, taken by this worker until its lease runs out."""

    delivery_id: UUID
    attempt: int
    """This try's number, from 1; the claim's token for writing its result."""
    event_type: str
    body: str
    event_created_at: datetime


class Outbox:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record_stream_event(
        self, event_type: EventType, name: str, started_at: datetime, ended_at: datetime | None = None
    ) -> None:
        """Record a stream's start or end, with its title and channel as the catalog has them
        now (none when the stream was deleted meanwhile, or has no channel)."""
        await self._pool.execute(
            """INSERT INTO webhook_events (type, data)
               SELECT $1, jsonb_build_object('stream', jsonb_build_object(
                          'name', n.name,
                          'title', coalesce(s.title, ''),
                          'channel', CASE WHEN c.id IS NULL THEN NULL ELSE
                              jsonb_build_object('handle', c.handle::text, 'title', c.title) END)
                          || $3::jsonb)
               FROM (SELECT $2::text AS name) n
               LEFT JOIN live_streams s ON s.name = n.name
               LEFT JOIN channels c ON c.id = s.channel_id""",
            event_type.value,
            name,
            json.dumps(_stream_times(started_at, ended_at)),
        )

    async def fan_out(self, endpoints: Sequence[str], render: BodyRenderer) -> int:
        """Give every event still without deliveries its body and one delivery per endpoint
        (none when no endpoint is configured: the event then only waits to be pruned); how many
        events. Concurrent workers take disjoint events (SKIP LOCKED)."""
        made = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    """SELECT id, type, data::text AS data, created_at FROM webhook_events
                       WHERE body IS NULL ORDER BY created_at LIMIT $1
                       FOR UPDATE SKIP LOCKED""",
                    _FAN_OUT_BATCH,
                )
                if not rows:
                    return made
                ids = [row["id"] for row in rows]
                bodies = [
                    render(row["id"], row["type"], row["created_at"], json.loads(row["data"]))
                    for row in rows
                ]
                await conn.execute(
                    """UPDATE webhook_events e SET body = v.body
                       FROM unnest($1::uuid[], $2::text[]) AS v(id, body) WHERE e.id = v.id""",
                    ids,
                    bodies,
                )
                if endpoints:
                    await conn.execute(
                        """INSERT INTO webhook_deliveries (event_id, endpoint)
                           SELECT e, u FROM unnest($1::uuid[]) e, unnest($2::text[]) u
                           ON CONFLICT DO NOTHING""",
                        ids,
                        list(endpoints),
                    )
            made += len(rows)
            if len(rows) < _FAN_OUT_BATCH:
                return made

    async def claim(self, endpoint: str, limit: int, lease: float) -> list[Claim]:
        """Up to ``limit`` due deliveries to ``endpoint``, oldest due first, leased for
        ``lease`` seconds."""
        rows = await self._pool.fetch(
            """UPDATE webhook_deliveries d
               SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $3)
               FROM webhook_events e
               WHERE d.id IN (SELECT id FROM webhook_deliveries
                              WHERE endpoint = $1 AND state = 'pending' AND next_attempt_at <= now()
                              ORDER BY next_attempt_at LIMIT $2
                              FOR UPDATE SKIP LOCKED)
                 AND e.id = d.event_id
               RETURNING d.id, d.attempts, e.type, e.body, e.created_at""",
            endpoint,
            limit,
            lease,
        )
        return [
            Claim(row["id"], row["attempts"], row["type"], row["body"], row["created_at"])
            for row in rows
        ]

    async def delivered(self, claim: Claim, status: int) -> bool:
        return await self._finish(
            """UPDATE webhook_deliveries
               SET state = 'delivered', finished_at = now(), last_status = $2, last_error = NULL
               WHERE id = $1 AND state = 'pending' RETURNING true""",
            claim.delivery_id,
            status,
        )

    async def retry_later(
        self, claim: Claim, delay: float, status: int | None, error: str
    ) -> bool:
        return await self._finish(
            """UPDATE webhook_deliveries
               SET next_attempt_at = now() + make_interval(secs => $3), last_status = $4,
                   last_error = $5
               WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING true""",
            claim.delivery_id,
            claim.attempt,
            delay,
            status,
            error,
        )

    async def failed(self, claim: Claim, status: int | None, error: str) -> bool:
        return await self._finish(
            """UPDATE webhook_deliveries
               SET state = 'failed', finished_at = now(), last_status = $3, last_error = $4
               WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING true""",
            claim.delivery_id,
            claim.attempt,
            status,
            error,
        )

    async def release(self, claims: Sequence[Claim]) -> None:
        """Hand back tries cut short by a shutdown: due at once, and not counted (the request
        may have arrived; the receiver de-duplicates by delivery id)."""
        await self._pool.execute(
            """UPDATE webhook_deliveries d
               SET attempts = d.attempts - 1, next_attempt_at = now()
               FROM unnest($1::uuid[], $2::int[]) AS c(id, attempt)
               WHERE d.id = c.id AND d.attempts = c.attempt AND d.state = 'pending'""",
            [claim.delivery_id for claim in claims],
            [claim.attempt for claim in claims],
        )

    async def next_due_in(self, endpoints: Sequence[str]) -> float | None:
        """Seconds until the next delivery to one of ``endpoints`` is due (≤ 0: now), or None."""
        return await self._pool.fetchval(
            """SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
               FROM webhook_deliveries WHERE state = 'pending' AND endpoint = ANY($1::text[])""",
            list(endpoints),
        )

    async def prune(self, retention: float, endpoints: Sequence[str]) -> int:
        """Delete events recorded over ``retention`` seconds ago, with their deliveries, unless a
        delivery to a configured endpoint is still pending; how many. Pending deliveries to
        endpoints no longer configured do not hold an event back: nobody will send them."""
        deleted = 0
        while True:
            count = await self._pool.fetchval(
                """WITH gone AS (
                       DELETE FROM webhook_events WHERE id IN (
                           SELECT e.id FROM webhook_events e
                           WHERE e.created_at < now() - make_interval(secs => $1)
                             AND e.body IS NOT NULL
                             AND NOT EXISTS (
                                 SELECT 1 FROM webhook_deliveries d
                                 WHERE d.event_id = e.id AND d.state = 'pending'
                                   AND d.endpoint = ANY($2::text[]))
                           ORDER BY e.created_at LIMIT $3)
                       RETURNING 1)
                   SELECT count(*) FROM gone""",
                retention,
                list(endpoints),
                _PRUNE_BATCH,
            )
            deleted += count
            if count < _PRUNE_BATCH:
                return deleted

    async def _finish(self, query: str, *args: object) -> bool:
        """Whether the result was written (False: the delivery was taken by a newer try, or is
        finished already)."""
        return bool(await self._pool.fetchval(query, *args))


def _stream_times(started_at: datetime, ended_at: datetime | None) -> dict[str, Any]:
    """The times a stream event carries besides the catalog's data."""
    if ended_at is None:
        return {"started_at": rfc3339(started_at)}
    return {
        "started_at": rfc3339(started_at),
        "ended_at": rfc3339(ended_at),
        "duration_seconds": round((ended_at - started_at).total_seconds(), 3),
    }
