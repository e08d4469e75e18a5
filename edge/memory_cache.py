"""The edge's in-memory cache: objects by cache key, bounded in bytes, least recently used out
first (``cachetools.LRUCache`` with the body size as each entry's weight).

Entries keep their freshness deadlines: :meth:`MemoryCache.fresh` serves only within
``max-age``, :meth:`MemoryCache.stale` also within ``stale-if-error`` (for when every upstream
fails). Everything runs on the event loop; there is no locking.
"""

from __future__ import annotations

from cachetools import LRUCache

from edge.edge_object import EdgeObject

ENTRY_OVERHEAD = 512
"""Bytes charged per entry beyond its body (headers, key, bookkeeping), so a flood of empty
responses still counts against the budget."""


def _weight(entry: EdgeObject) -> int:
    return len(entry.body) + ENTRY_OVERHEAD


class MemoryCache:
    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[str, EdgeObject] = LRUCache(maxsize=max_bytes, getsizeof=_weight)

    @property
    def size_bytes(self) -> int:
        return int(self._entries.currsize)

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: str, now: float) -> EdgeObject | None:
        entry = self._entries.get(key)  # a lookup refreshes its recency
        return entry if entry is not None and now < entry.fresh_until else None

    def stale(self, key: str, now: float) -> EdgeObject | None:
        """A copy to serve when the origin cannot answer (``stale-if-error``)."""
        entry = self._entries.get(key)
        return entry if entry is not None and now < entry.stale_until else None

    def store(self, key: str, entry: EdgeObject, now: float) -> bool:
        """Keep an object if it may be kept and fits the budget at all; ``False`` otherwise."""
        if not entry.storable or entry.stale_until <= now or _weight(entry) > self._entries.maxsize:
            return False
        self._entries[key] = entry
        return True
