"""``GET /videos/{video_id}/related``: videos to watch next (scoring in :mod:`catalog.related`).

Only public, ready videos, never one the caller has finished; 404 if the caller may not watch
the video itself. Not paged: a short, ranked list (``limit`` up to 50).
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200
from pydantic import Field

from catalog.api.auth import optional_user
from catalog.api.context import context
from catalog.api.fields import VideoPublicId
from catalog.api.video_cards import VideoCardOut, watchable_video
from catalog.api.views import ApiModel, ApiView, respond
from catalog.related import RelatedVideos

RelatedLimit = Annotated[int, Field(ge=1, le=50, description="How many videos.")]


class RelatedOut(ApiModel):
    items: list[VideoCardOut]


class RelatedView(ApiView):
    async def get(self, video_id: VideoPublicId, /, limit: RelatedLimit = 20) -> r200[RelatedOut]:
        """Videos related to this one, best first.

        Tags: videos
        """
        video = await watchable_video(self.request, video_id)
        principal = optional_user(self.request)
        related = await RelatedVideos(context(self.request).pool).for_video(
            video, principal.user_id if principal else None, limit
        )
        return respond(RelatedOut(items=[VideoCardOut.of(listed.video) for listed in related]))


def add_routes(api: web.Application) -> None:
    api.router.add_view("/videos/{video_id}/related", RelatedView)
