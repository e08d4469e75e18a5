"""The cache key of a request: what makes two requests the same object at the origin.

The path has already matched the playback URL scheme (:mod:`origin.url_scheme`), which admits
one spelling per object. Of the query, only the LL-HLS Delivery Directives change what a
playlist request returns, so they are the only part kept, parsed and written back in canonical
form; every other parameter — a playback token, a player's cache-buster, junk — is dropped, so
it can neither split the cache into useless copies nor poison one. Tokens are checked apart.
"""

from __future__ import annotations

from origin.hls_directives import Directives


def cache_key(path: str, directives: Directives) -> str:
    kept = [
        f"{name}={value}"
        for name, value in (
            ("_HLS_msn", directives.msn),
            ("_HLS_part", directives.part),
            ("_HLS_skip", directives.skip),
        )
        if value is not None
    ]
    return path + ("?" + "&".join(kept) if kept else "")
