"""``POST /videos/{video_id}/views``: the player reports watching; the view counts once per
viewer per hour after :data:`~catalog.video_views.MIN_WATCHED_SECONDS` (see
:mod:`catalog.video_views`).

The viewer is the account when a token is sent, else ``session_id`` (a random id the player keeps
for the browsing session), else the client address. Players report after the threshold (and
may report again later: repeats within the hour are not counted).
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200
from pydantic import Field, StringConstraints

from catalog.api.auth import optional_user
from catalog.api.fields import VideoPublicId
from catalog.api.rate_limits import client_address
from catalog.api.videos import ready_video
from catalog.api.views import ApiModel, ApiView, respond
from catalog.video_views import VideoViews, viewer_key

SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
WatchedSeconds = Annotated[float, Field(ge=0, le=10_000_000)]


class ViewIn(ApiModel):
    watched_seconds: WatchedSeconds = Field(description="How long this viewer has watched, seconds.")
    session_id: SessionId | None = Field(
        default=None, description="Identifies an anonymous viewer (ignored with a token)."
    )


class ViewOut(ApiModel):
    counted: bool = Field(description="False: too short, or already counted this hour.")


class VideoViewsView(ApiView):
    async def post(self, video_id: VideoPublicId, /, report: ViewIn) -> r200[ViewOut]:
        """Report watching a video; counts a view at most once per viewer per hour.

        Tags: videos
        """
        principal = optional_user(self.request)
        video = await ready_video(self.request, video_id)
        viewer = viewer_key(
            user_id=principal.user_id if principal else None,
            session_id=report.session_id,
            address=client_address(self.request),
        )
        counted = await VideoViews(self.ctx.pool).record(video, viewer, report.watched_seconds)
        return respond(ViewOut(counted=counted))


def add_routes(api: web.Application) -> None:
    api.router.add_view("/videos/{video_id}/views", VideoViewsView)
