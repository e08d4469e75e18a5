"""A transcode's progress (percent and expected end) in the catalog, where
``GET /api/v1/videos/{id}/status`` reads it: written at most every ``interval`` seconds, since
the child reports several times a second and every write is a database round trip."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from catalog.videos import Status, Videos

_MAX_PERCENT = 99
"""100 % means ready (:meth:`catalog.videos.Videos.set_status`); storing and cataloguing the
last files come after the encode."""


class VideoGone(Exception):
    """The video was deleted while it was being transcoded."""


class ProgressWriter:
    def __init__(self, videos: Videos, video_id: int, *, duration: float, interval: float) -> None:
        self._videos = videos
        self._video_id = video_id
        self._duration = duration
        self._interval = interval
        self._started = time.monotonic()
        self._written_at = self._started
        self._percent = 0

    async def encoded(self, seconds: float) -> None:
        """``seconds`` of the source are encoded; raises :class:`VideoGone`."""
        now = time.monotonic()
        percent = min(_MAX_PERCENT, int(100 * seconds / self._duration))
        if now - self._written_at < self._interval or percent <= self._percent or seconds <= 0:
            return
        self._written_at, self._percent = now, percent
        remaining = (now - self._started) * (self._duration - seconds) / seconds
        eta = datetime.now(UTC) + timedelta(seconds=max(remaining, 0.0))
        written = await self._videos.set_status(
            self._video_id, Status.PROCESSING, progress_percent=percent, eta=eta
        )
        if written is None:
            raise VideoGone
