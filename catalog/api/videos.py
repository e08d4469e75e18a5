"""``/videos/{video_id}/…``: playback tokens today; the video endpoints join this module later.

A playback token is issued for a video the caller may watch (:func:`catalog.videos.may_watch`;
anything else is 404) once it is ready. ``bind_viewer=true`` binds it to the caller's account,
for edges that know the viewer; the format is in :mod:`catalog.playback_tokens`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiohttp import web
from aiohttp_pydantic.oas.typing import r201

from catalog import playback_tokens
from catalog.api.auth import optional_user, require_user
from catalog.api.context import context
from catalog.api.errors import conflict, not_found
from catalog.api.fields import VideoPublicId
from catalog.api.views import ApiModel, ApiView, respond
from catalog.videos import Status, Videos, may_watch


class PlaybackTokenOut(ApiModel):
    token: str
    video_id: str
    expires_at: datetime
    viewer_id: str | None


def _videos(request: web.Request) -> Videos:
    return Videos(context(request).pool)


class PlaybackTokenView(ApiView):
    async def post(self, video_id: VideoPublicId, /, bind_viewer: bool = False) -> r201[PlaybackTokenOut]:
        """A signed, expiring token to play this video from an edge without a database.

        Tags: videos
        Security: bearer
        """
        principal = require_user(self.request) if bind_viewer else optional_user(self.request)
        video = await _videos(self.request).get(video_id)
        if video is None or not may_watch(video, principal):
            raise not_found("video")
        if video.status is not Status.READY:
            raise conflict("not_ready", f"the video is {video.status.value}, not ready to play")
        viewer = str(principal.user_id) if bind_viewer and principal else None
        expires_at = int(time.time() + self.ctx.settings.playback_token_ttl)
        token = playback_tokens.issue(self.ctx.playback_key, video.public_id, expires_at, viewer)
        out = PlaybackTokenOut(
            token=token,
            video_id=video.public_id,
            expires_at=datetime.fromtimestamp(expires_at, UTC),
            viewer_id=viewer,
        )
        return respond(out, 201)


def add_routes(api: web.Application) -> None:
    api.router.add_view("/videos/{video_id}/playback-token", PlaybackTokenView)
