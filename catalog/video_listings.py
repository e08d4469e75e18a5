"""Videos as other resources list them (feeds, history, playlists, related), and how to page a
list that may hold videos the caller may no longer watch.

Two rules apply, both from :mod:`catalog.videos`:

- *Listings* (feeds, related) show only ``privacy = 'public' AND status = 'ready'`` videos
  (:data:`LISTED`), in SQL, so an index can serve them.
- Lists of videos someone chose (a playlist, one's history) may hold unlisted or since-hidden
  videos; they show what :func:`catalog.videos.may_watch` allows the caller, skipping the rest
  (:func:`scan_visible`). The rule is applied in Python so it lives in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from catalog.access import Principal
from catalog.videos import _COLUMNS as _VIDEO_COLUMNS  # the columns of catalog.videos.Video
from catalog.videos import Video, may_watch

LISTED = "v.privacy = 'public' AND v.status = 'ready'"
"""The listing rule, for tables aliased ``v`` (``videos``)."""

LISTED_AT = "coalesce(v.published_at, v.created_at)"
"""When a listed video appeared: indexed per channel for the subscription feed."""

VIDEO_COLUMNS = _VIDEO_COLUMNS
"""Select list for :class:`ListedVideo` from :data:`VIDEO_JOIN`."""

VIDEO_JOIN = "videos v JOIN channels c ON c.id = v.channel_id"

_VIDEO_FIELDS = tuple(field.name for field in fields(Video))

Row = TypeVar("Row")
Key = TypeVar("Key")

SCAN_BATCH = 100
MAX_SCAN_BATCHES = 20


@dataclass(frozen=True, slots=True)
class ListedVideo:
    """A video as a list row reads it (with the list's own columns beside it)."""

    video: Video

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ListedVideo:
        """From a row selected with :data:`VIDEO_COLUMNS`; other columns of the row are ignored."""
        return cls(Video.from_row({name: row[name] for name in _VIDEO_FIELDS}))

    @property
    def listed_at(self) -> datetime:
        """Python's side of :data:`LISTED_AT`."""
        return self.video.published_at or self.video.created_at


async def scan_visible(
    fetch: Callable[[Key | None, int], Awaitable[list[Row]]],
    after: Key | None,
    limit: int,
    *,
    video: Callable[[Row], Video],
    key: Callable[[Row], Key],
    principal: Principal | None,
) -> tuple[list[Row], Key | None]:
    """Up to ``limit`` rows the caller may watch, and the key to continue after (None: the end).

    ``fetch(after, n)`` returns the next ``n`` rows in key order. Rows the caller may not watch
    are skipped; a list mostly made of them is read in batches, at most
    :data:`MAX_SCAN_BATCHES` per request: past that the page is short and its key continues the
    scan, so one request's cost stays bounded.
    """
    items: list[Row] = []
    for _ in range(MAX_SCAN_BATCHES):
        rows = await fetch(after, SCAN_BATCH)
        for row in rows:
            if not may_watch(video(row), principal):
                continue
            if len(items) == limit:
                return items, key(items[-1])
            items.append(row)
        if len(rows) < SCAN_BATCH:
            return items, None
        after = key(rows[-1])
    return items, after
