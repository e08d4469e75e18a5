"""The edge's in-memory cache: responses by cache key, bounded in bytes, least recently used
out first (``cachetools.LRUCache`` with the body size as each entry's weight).

Entries keep their freshness deadlines: :meth:`MemoryCache.fresh` serves only within
``max-age``, :meth:`MemoryCache.stale` also within ``stale-if-error`` (for when every upstream
fails). Everything runs on the event loop; there is no locking.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachetools import LRUCache

from edge.freshness import Freshness

ENTRY_OVERHEAD = 512
"""Bytes charged per entry beyond its body (headers, key, bookkeeping), so a flood of empty
responses still counts against the budget."""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fresh_until: float
    stale_until: float


def _weight(entry: CachedResponse) -> int:
    return len(entry.body) + ENTRY_OVERHEAD


class MemoryCache:
    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[str, CachedResponse] = LRUCache(maxsize=max_bytes, getsizeof=_weight)
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        return int(self._entries.currsize)

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: str, now: float) -> CachedResponse | None:
        entry = self._entries.get(key)  # a lookup refreshes its recency
        if entry is not None and now < entry.fresh_until:
            self.hits += 1
            return entry
        self.misses += 1
        return None

    def stale(self, key: str, now: float) -> CachedResponse | None:
        """A copy to serve when the origin cannot answer (``stale-if-error``)."""
        entry = self._entries.get(key)
        return entry if entry is not None and now < entry.stale_until else None

    def store(
        self,
        key: str,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        freshness: Freshness,
        now: float,
    ) -> bool:
        """Keep a response if it may be kept and fits the budget at all; ``False`` otherwise."""
        if not freshness.storable or freshness.ttl + freshness.stale_if_error <= 0:
            return False
        entry = CachedResponse(
            status,
            headers,
            body,
            fresh_until=now + freshness.ttl,
            stale_until=now + freshness.ttl + freshness.stale_if_error,
        )
        if _weight(entry) > self._entries.maxsize:
            return False
        self._entries[key] = entry
        return True
