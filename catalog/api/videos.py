"""Videos: ``/videos`` (the newest listed ones; create), ``/videos/{video_id}`` (read, edit, delete), its ``/status``,
``/thumbnails`` and ``/playback-token``, and ``/channels/{handle}/videos``.

Visibility is :func:`catalog.videos.may_watch`: a video the caller may not watch answers 404,
exactly like one that does not exist; one they may watch but not manage answers 403 to a
change. Creating a video records its metadata with status ``uploading``; the upload and the
processing that follow report progress through :meth:`catalog.videos.Videos.set_status`.

Changes to a video's privacy and its deletion run inside the context's ``playback_change``,
which keeps what edges read from storage (:mod:`vod.playback_manifest`) in step.

A playback token is issued for a ready video the caller may watch. ``bind_viewer=true`` binds
it to the caller's account, for edges that know the viewer; the format is in
:mod:`catalog.playback_tokens`.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r201, r204
from pydantic import AwareDatetime, Field, StringConstraints

from catalog import playback_tokens
from catalog.access import may_manage
from catalog.api.auth import optional_user, require_manager, require_user
from catalog.api.channels import channel_by_handle, own_channel
from catalog.api.context import PublicUrls, context
from catalog.api.errors import ApiError, conflict, not_found
from catalog.api.fields import Handle, Id, VideoPublicId, line, paragraphs
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import VideoCardOut, watchable_video
from catalog.api.views import ApiModel, ApiView, respond
from catalog.channel_videos import ChannelVideos, sort_key
from catalog.latest_videos import LatestVideos
from catalog.videos import Privacy, Status, Thumbnail, UnknownThumbnail, Video, VideoChanges, Videos

LANGUAGE_PATTERN = r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*)?$"

VideoTitle = Annotated[str, line(200)]
VideoDescription = Annotated[str, paragraphs(10_000)]
Tags = Annotated[list[Annotated[str, line(50)]], Field(max_length=30)]
Category = Annotated[str, line(50, min_length=0)]
Language = Annotated[
    str, StringConstraints(max_length=35, pattern=LANGUAGE_PATTERN), Field(description="BCP 47, or empty.")
]


class NewVideoIn(ApiModel):
    title: VideoTitle
    description: VideoDescription = ""
    tags: Tags = []
    category: Category = ""
    language: Language = ""
    privacy: Privacy = Privacy.PRIVATE


class VideoPatch(ApiModel):
    """Fields left out (or null) keep their value."""

    title: VideoTitle | None = None
    description: VideoDescription | None = None
    tags: Tags | None = None
    category: Category | None = None
    language: Language | None = None
    privacy: Privacy | None = None
    thumbnail_id: Id | None = Field(default=None, description="One of GET …/thumbnails.")


class VideoOut(ApiModel):
    id: str
    channel: str = Field(description="The channel's handle.")
    title: str
    description: str
    tags: list[str]
    category: str
    language: str
    privacy: Privacy
    status: Status
    failure_reason: str | None = Field(description="Why processing failed, when it did.")
    duration_seconds: float | None
    view_count: int
    like_count: int
    dislike_count: int
    comment_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    playback_url: str | None = Field(
        description="HLS multivariant playlist, once the video is ready. Unlisted and private "
        "videos play with ?token= (POST …/playback-token)."
    )
    thumbnail_url: str | None = Field(
        description="The chosen thumbnail, else the poster; null until processing made one. "
        "Unlisted and private videos' pictures take ?token= too."
    )

    @classmethod
    def of(cls, video: Video, urls: PublicUrls) -> VideoOut:
        return cls(
            id=video.public_id,
            channel=video.channel_handle,
            title=video.title,
            description=video.description,
            tags=video.tags,
            category=video.category,
            language=video.language,
            privacy=video.privacy,
            status=video.status,
            failure_reason=video.failure_reason,
            duration_seconds=video.duration_seconds,
            view_count=video.view_count,
            like_count=video.like_count,
            dislike_count=video.dislike_count,
            comment_count=video.comment_count,
            created_at=video.created_at,
            updated_at=video.updated_at,
            published_at=video.published_at,
            playback_url=urls.video_playlist(video.public_id) if video.status is Status.READY else None,
            thumbnail_url=(
                None if video.cover_thumbnail_id is None
                else urls.thumbnail(video.public_id, video.cover_thumbnail_id)
            ),
        )


class VideoPage(Page[VideoOut]):
    pass


class VideoCardPage(Page[VideoCardOut]):
    pass


class VideoStatusOut(ApiModel):
    id: str
    status: Status
    progress_percent: int
    eta: datetime | None = Field(description="When processing is expected to end.")
    failure_reason: str | None


class ThumbnailOut(ApiModel):
    id: int
    kind: str
    width: int
    height: int
    chosen: bool
    created_at: datetime
    url: str = Field(description="The image (JPEG); served under the video's access rule.")

    @classmethod
    def of(cls, thumbnail: Thumbnail, video: Video, urls: PublicUrls) -> ThumbnailOut:
        return cls(
            id=thumbnail.id,
            kind=thumbnail.kind,
            width=thumbnail.width,
            height=thumbnail.height,
            chosen=thumbnail.chosen,
            created_at=thumbnail.created_at,
            url=urls.thumbnail(video.public_id, thumbnail.id),
        )


class PlaybackTokenOut(ApiModel):
    token: str
    video_id: str
    expires_at: datetime
    viewer_id: str | None


_BY_TIME: Cursor[tuple[datetime, int]] = Cursor(tuple[AwareDatetime, Id])


def _videos(request: web.Request) -> Videos:
    return Videos(context(request).pool)


async def ready_video(request: web.Request, video_id: str) -> Video:
    """A video the caller may watch (else 404) that is ready to play (else 409)."""
    video = await watchable_video(request, video_id)
    if video.status is not Status.READY:
        raise conflict("not_ready", f"the video is {video.status.value}, not ready to play")
    return video


async def _managed_video(request: web.Request, video_id: str) -> Video:
    """The video, if the caller manages it: 401 anonymous, 404 if they may not watch it, 403 if
    they may watch it but it is not theirs."""
    require_user(request)
    video = await watchable_video(request, video_id)
    require_manager(request, video.owner_id, hidden=False, what="video")
    return video


class VideosView(ApiView):
    async def get(self, page: PageQuery) -> r200[VideoCardPage]:
        """The newest listed videos (public, ready) of every channel, by publication.

        Tags: videos
        """
        rows = await LatestVideos(self.ctx.pool).page(
            after=_BY_TIME.decode(page.cursor), limit=page.limit + 1
        )
        items, next_cursor = _BY_TIME.page(
            rows, page.limit, key=lambda listed: (listed.listed_at, listed.video.id)
        )
        cards = [VideoCardOut.of(listed.video) for listed in items]
        return respond(VideoCardPage(items=cards, next_cursor=next_cursor))

    async def post(self, new: NewVideoIn) -> r201[VideoOut]:
        """Create a video on the caller's channel: its metadata, with status ``uploading``.

        Tags: videos
        Security: bearer
        """
        channel = await own_channel(self.request, "videos")
        video = await _videos(self.request).create(
            channel.id,
            new.title,
            description=new.description,
            tags=new.tags,
            category=new.category,
            language=new.language,
            privacy=new.privacy,
        )
        return respond(VideoOut.of(video, self.ctx.public_urls()), 201)


class VideoView(ApiView):
    async def get(self, video_id: VideoPublicId, /) -> r200[VideoOut]:
        """A video's metadata and counters.

        Tags: videos
        """
        video = await watchable_video(self.request, video_id)
        return respond(VideoOut.of(video, self.ctx.public_urls()))

    async def patch(self, video_id: VideoPublicId, /, changes: VideoPatch) -> r200[VideoOut]:
        """Edit a video (its owner or an admin): metadata, privacy, the chosen thumbnail.

        Tags: videos
        Security: bearer
        """
        video = await _managed_video(self.request, video_id)
        edit = VideoChanges(**changes.model_dump(exclude_none=True))
        touches_playback = changes.privacy is not None
        around = self.ctx.playback_change(video.public_id) if touches_playback else nullcontext()
        try:
            async with around:
                updated = await _videos(self.request).update(video.id, edit)
        except UnknownThumbnail as exc:
            detail = [{"in": "body", "loc": ["thumbnail_id"], "msg": str(exc), "type": "unknown_thumbnail"}]
            raise ApiError(422, "validation_error", detail) from None
        if updated is None:
            raise not_found("video")
        return respond(VideoOut.of(updated, self.ctx.public_urls()))

    async def delete(self, video_id: VideoPublicId, /) -> r204:
        """Delete a video with its reactions, views and thumbnails (its owner or an admin).

        Tags: videos
        Security: bearer
        """
        video = await _managed_video(self.request, video_id)
        async with self.ctx.playback_change(video.public_id):
            deleted = await _videos(self.request).delete(video.id)
        if not deleted:
            raise not_found("video")
        return web.Response(status=204)


class VideoStatusView(ApiView):
    async def get(self, video_id: VideoPublicId, /) -> r200[VideoStatusOut]:
        """Processing status: progress, expected end, why it failed.

        Tags: videos
        """
        video = await watchable_video(self.request, video_id)
        out = VideoStatusOut(
            id=video.public_id,
            status=video.status,
            progress_percent=video.progress_percent,
            eta=video.eta,
            failure_reason=video.failure_reason,
        )
        return respond(out)


class VideoThumbnailsView(ApiView):
    async def get(self, video_id: VideoPublicId, /) -> r200[list[ThumbnailOut]]:
        """The thumbnails processing made, to choose from (its owner or an admin).

        Tags: videos
        Security: bearer
        """
        video = await _managed_video(self.request, video_id)
        thumbnails = await _videos(self.request).thumbnails(video.id)
        urls = self.ctx.public_urls()
        out = [ThumbnailOut.of(t, video, urls).model_dump(mode="json") for t in thumbnails]
        return web.json_response(out)


class ChannelVideosView(ApiView):
    async def get(self, handle: Handle, /, page: PageQuery) -> r200[VideoPage]:
        """A channel's videos, newest first: all of them for its owner and admins (by upload),
        public ready ones for everyone else (by publication).

        Tags: videos
        """
        channel = await channel_by_handle(self.request, handle)
        everything = may_manage(optional_user(self.request), channel.owner_id)
        rows = await ChannelVideos(self.ctx.pool).page(
            channel.id, everything=everything, after=_BY_TIME.decode(page.cursor), limit=page.limit + 1
        )
        items, next_cursor = _BY_TIME.page(
            rows, page.limit, key=lambda listed: sort_key(listed, everything=everything)
        )
        urls = self.ctx.public_urls()
        videos = [VideoOut.of(listed.video, urls) for listed in items]
        return respond(VideoPage(items=videos, next_cursor=next_cursor))


class PlaybackTokenView(ApiView):
    async def post(self, video_id: VideoPublicId, /, bind_viewer: bool = False) -> r201[PlaybackTokenOut]:
        """A signed, expiring token to play this video from an edge without a database.

        Tags: videos
        Security: bearer
        """
        principal = require_user(self.request) if bind_viewer else optional_user(self.request)
        video = await ready_video(self.request, video_id)
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
    api.router.add_view("/videos", VideosView)
    api.router.add_view("/videos/{video_id}", VideoView)
    api.router.add_view("/videos/{video_id}/status", VideoStatusView)
    api.router.add_view("/videos/{video_id}/thumbnails", VideoThumbnailsView)
    api.router.add_view("/videos/{video_id}/playback-token", PlaybackTokenView)
    api.router.add_view("/channels/{handle}/videos", ChannelVideosView)
