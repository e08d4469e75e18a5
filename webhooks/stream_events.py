"""``stream.started`` and ``stream.ended``, recorded by the node that runs the stream.

The packager's registry tells its listener on the event loop and must not wait for the
catalog, so each record is a short task the node owns (``spawn``; awaited at shutdown, which is
when the last streams end). A record that fails (the database unreachable) is logged and lost:
the stream itself must go on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import structlog

from packager.live.registry import StreamLifetime
from webhooks.events import EventType
from webhooks.outbox import Outbox

log = structlog.get_logger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class StreamWebhooks:
    """The registry's :class:`~packager.live.registry.StreamListener` on a node that ingests."""

    def __init__(self, outbox: Outbox, spawn: Spawn) -> None:
        self._outbox = outbox
        self._spawn = spawn

    def stream_started(self, stream: StreamLifetime) -> None:
        self._spawn(self._record(EventType.STREAM_STARTED, stream))

    def stream_ended(self, stream: StreamLifetime) -> None:
        self._spawn(self._record(EventType.STREAM_ENDED, stream))

    async def _record(self, event_type: EventType, stream: StreamLifetime) -> None:
        try:
            await self._outbox.record_stream_event(
                event_type, stream.name, stream.started_at, stream.ended_at
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning(
                "webhooks.stream_event_lost", stream=stream.name, event_type=event_type.value,
                error=type(exc).__name__,
            )
