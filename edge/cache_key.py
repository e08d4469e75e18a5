"""The cache key of a request: what makes two requests the same object at the origin.

Only the LL-HLS Delivery Directives change what a playlist request returns, so they are the only
query parameters kept (in a fixed order, first value of each); every other parameter — a
playback token, a player's cache-buster, junk — is dropped, so it can neither split the cache
into useless copies nor poison one. Tokens are checked before the cache is consulted.
"""

from __future__ import annotations

from collections.abc import Mapping

KEPT_PARAMETERS = ("_HLS_msn", "_HLS_part", "_HLS_skip")


def cache_key(path: str, query: Mapping[str, str]) -> str:
    kept = [f"{name}={query[name]}" for name in KEPT_PARAMETERS if name in query]
    return path + ("?" + "&".join(kept) if kept else "")
