"""Request collapsing: concurrent requests for one key share one upstream fetch.

The fetch runs as a task owned here, not by whichever request came first, so a viewer who hangs
up does not cancel it for everyone else; every waiter gets the same result or the same
exception. When the last waiter has gone the task is cancelled too: nobody needs its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[str, tuple[asyncio.Task[T], list[int]]] = {}
        self.started = 0
        self.collapsed = 0
        """Requests that joined a fetch already in flight instead of starting one."""

    def in_flight(self) -> int:
        return len(self._flights)

    def is_flying(self, key: str) -> bool:
        flight = self._flights.get(key)
        return flight is not None and not flight[0].cancelling()

    async def run(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None or flight[0].cancelling():  # its last waiter just left: start anew
            task: asyncio.Task[T] = asyncio.ensure_future(fetch())
            flight = (task, [0])
            self._flights[key] = flight
            task.add_done_callback(lambda _: self._land(key, task))
            self.started += 1
        else:
            self.collapsed += 1
        task, waiters = flight
        waiters[0] += 1
        try:
            return await asyncio.shield(task)
        finally:
            waiters[0] -= 1
            if waiters[0] == 0 and not task.done():
                task.cancel()

    def _land(self, key: str, task: asyncio.Task[T]) -> None:
        current = self._flights.get(key)
        if current is not None and current[0] is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here; every waiter re-raises it from the shield
