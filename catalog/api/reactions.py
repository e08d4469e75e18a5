"""``/videos/{video_id}/reaction``: the caller's like or dislike of a video.

``GET`` the caller's reaction and the counters, ``PUT {"reaction": "like"|"dislike"}`` to set or
switch it, ``DELETE`` to take it back; each answers the new state. Repeating a request changes
nothing. Only ready videos the caller may watch take reactions (404 / 409 otherwise).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200

from catalog.api.auth import require_user
from catalog.api.errors import not_found
from catalog.api.fields import VideoPublicId
from catalog.api.video_cards import watchable_video
from catalog.api.videos import ready_video
from catalog.api.views import ApiModel, ApiView, respond
from catalog.reactions import Reaction, Reactions, ReactionState


class ReactionIn(ApiModel):
    reaction: Reaction


class ReactionOut(ApiModel):
    reaction: Reaction | None
    like_count: int
    dislike_count: int


def _answer(state: ReactionState | None) -> web.Response:
    if state is None:  # deleted while we were at it
        raise not_found("video")
    out = ReactionOut(reaction=state.reaction, like_count=state.like_count, dislike_count=state.dislike_count)
    return respond(out)


class ReactionView(ApiView):
    async def get(self, video_id: VideoPublicId, /) -> r200[ReactionOut]:
        """The caller's reaction to a video (null: none) and its like and dislike counts.

        Tags: reactions
        Security: bearer
        """
        principal = require_user(self.request)
        video = await watchable_video(self.request, video_id)
        return _answer(await Reactions(self.ctx.pool).state(video.id, principal.user_id))

    async def put(self, video_id: VideoPublicId, /, body: ReactionIn) -> r200[ReactionOut]:
        """Like or dislike a video (replaces the caller's other reaction).

        Tags: reactions
        Security: bearer
        """
        principal = require_user(self.request)
        video = await ready_video(self.request, video_id)
        return _answer(await Reactions(self.ctx.pool).set(video.id, principal.user_id, body.reaction))

    async def delete(self, video_id: VideoPublicId, /) -> r200[ReactionOut]:
        """Take back the caller's reaction, if any.

        Tags: reactions
        Security: bearer
        """
        principal = require_user(self.request)
        video = await watchable_video(self.request, video_id)
        return _answer(await Reactions(self.ctx.pool).remove(video.id, principal.user_id))


def add_routes(api: web.Application) -> None:
    api.router.add_view("/videos/{video_id}/reaction", ReactionView)
