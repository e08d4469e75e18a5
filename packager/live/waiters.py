"""Futures keyed by the progress they wait for: a new part wakes only the requests it satisfies."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

K = TypeVar("K", int, tuple[int, int])


class ProgressWaiters(Generic[K]):
    """Waiters for a monotonically growing progress value (an index, or an ``(msn, part)`` pair).

    An idle waiter is one pending future in a dict: thousands cost a few hundred KB and no CPU.
    :meth:`release` resolves exactly the futures whose key the progress has reached, so a woken
    waiter runs on the next loop iteration. Every wait is bounded and removes its own future,
    however it ends (wake-up, timeout or cancellation by a disconnecting client).
    """

    def __init__(self) -> None:
        self._waiting: dict[K, set[asyncio.Future[None]]] = {}

    def __len__(self) -> int:
        return sum(len(group) for group in self._waiting.values())

    async def wait(self, key: K, timeout: float) -> None:
        """Return once :meth:`release` reaches ``key``, or after ``timeout`` seconds.

        Callers re-check their condition afterwards: a release may also mean "the stream ended".
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        group = self._waiting.setdefault(key, set())
        group.add(future)
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await future
        except TimeoutError:
            pass
        finally:
            group.discard(future)
            if not group and self._waiting.get(key) is group:
                del self._waiting[key]

    def release(self, progress: K) -> None:
        """Wake every waiter whose key is ``<= progress``."""
        for key in [key for key in self._waiting if key <= progress]:
            self._resolve(key)

    def release_all(self) -> None:
        for key in list(self._waiting):
            self._resolve(key)

    def _resolve(self, key: K) -> None:
        for future in self._waiting.pop(key):
            if not future.done():
                future.set_result(None)
