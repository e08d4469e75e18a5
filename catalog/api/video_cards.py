"""What the video-scoped resources share: the video a caller names (watchable, or 404) and the
card a list shows for a video (feeds, history, playlists, related)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import Field

from catalog.api.auth import optional_user
from catalog.api.context import context, thumbnail_path
from catalog.api.errors import not_found
from catalog.api.views import ApiModel
from catalog.videos import Privacy, Video, Videos, may_watch

MediaSeconds = Annotated[float, Field(ge=0, le=10_000_000)]
"""A moment of a video, in seconds (the CHECKs allow up to 10^7, about 115 days)."""


class VideoCardOut(ApiModel):
    id: str
    title: str
    channel: str = Field(description="The channel's handle.")
    privacy: Privacy
    duration_seconds: float | None
    view_count: int
    created_at: datetime
    published_at: datetime | None
    thumbnail_url: str | None = Field(
        description="The chosen thumbnail (else the poster), relative to the server; null until "
        "processing made one."
    )

    @classmethod
    def of(cls, video: Video) -> VideoCardOut:
        return cls(
            id=video.public_id,
            title=video.title,
            channel=video.channel_handle,
            privacy=video.privacy,
            duration_seconds=video.duration_seconds,
            view_count=video.view_count,
            created_at=video.created_at,
            published_at=video.published_at,
            thumbnail_url=(
                None if video.cover_thumbnail_id is None
                else thumbnail_path(video.public_id, video.cover_thumbnail_id)
            ),
        )


async def watchable_video(request: web.Request, public_id: str, *, what: str = "video") -> Video:
    """The video, if the caller may watch it (:func:`may_watch`); else 404, existing or not.

    ``what`` names the thing reached through the video (a comment) in the 404, so the answer
    is the same as for a thing that does not exist.
    """
    video = await Videos(context(request).pool).get(public_id)
    if video is None or not may_watch(video, optional_user(request)):
        raise not_found(what)
    return video
