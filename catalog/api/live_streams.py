"""Live streams of the caller's channel, their keys, and what is live right now.

- ``GET/POST /live-streams`` — list own streams; create one → RTMP URL, WHIP URL, stream key.
- ``PATCH /live-streams/{name}`` — turn recording off or on (every stream is recorded and
  becomes a video when it ends, unless turned off); takes effect at the stream's next start.
- ``GET/POST /live-streams/{name}/keys``, ``POST …/keys/{key_id}/rotate``,
  ``DELETE …/keys/{key_id}`` — several keys per stream; a rotated or revoked key stops
  working for the next publish; a new key is shown once.
- ``GET /live-now`` — public: streams being published at this moment (the packager's registry,
  handed over by the node as a callable).

A stream's management endpoints answer 404 to anyone but its channel's owner and admins.
Streams made by ``tributary stream create`` belong to no channel: admins manage them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r201, r204
from pydantic import Field

from catalog.api.auth import require_manager
from catalog.api.channels import channel_store, own_channel
from catalog.api.context import context
from catalog.api.errors import conflict, not_found
from catalog.api.fields import Id, StreamName, line
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.views import ApiModel, ApiView, respond
from catalog.live_streams import (
    LiveStream,
    LiveStreamCatalog,
    NewStreamKey,
    StreamExists,
    StreamKey,
    TooManyKeys,
)

StreamTitle = Annotated[str, line(200, min_length=0)]
KeyLabel = Annotated[str, line(100, min_length=0)]


class LiveStreamOut(ApiModel):
    name: str
    title: str
    live: bool
    record: bool = Field(description="Recorded, becoming a video when it ends.")
    watch_url: str
    playlist_url: str
    rtmp_url: str = Field(description="Where encoders publish (with a stream key as the stream name).")
    whip_url: str = Field(description="Where WHIP clients publish (with a stream key as Bearer token).")


class LiveStreamPage(Page[LiveStreamOut]):
    pass


class LiveNowOut(LiveStreamOut):
    channel: str | None  # the channel's handle; null for streams made on the command line


class LiveNowPage(Page[LiveNowOut]):
    pass


class NewLiveStreamIn(ApiModel):
    name: StreamName
    title: StreamTitle = ""


class LiveStreamPatch(ApiModel):
    """Fields left out (or null) keep their value."""

    record: bool | None = None


class NewKeyIn(ApiModel):
    label: KeyLabel = ""


class StreamKeyOut(ApiModel):
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: StreamKey) -> StreamKeyOut:
        return cls(id=key.id, label=key.label, created_at=key.created_at, last_used_at=key.last_used_at)


class NewKeyOut(ApiModel):
    """The plain stream key appears here once and is never shown again."""

    key: StreamKeyOut
    stream_key: str
    rtmp_url: str
    whip_url: str


class NewLiveStreamOut(NewKeyOut):
    stream: LiveStreamOut


_BY_ID: Cursor[int] = Cursor(Id)
_BY_NAME: Cursor[str] = Cursor(StreamName)


def _streams(request: web.Request) -> LiveStreamCatalog:
    return LiveStreamCatalog(context(request).pool)


def _stream_fields(request: web.Request, stream: LiveStream, live: set[str]) -> dict[str, Any]:
    """The fields of :class:`LiveStreamOut` (and its extensions)."""
    urls = context(request).public_urls()
    return {
        "name": stream.name,
        "title": stream.title,
        "live": stream.name in live,
        "record": stream.record,
        "watch_url": urls.watch(stream.name),
        "playlist_url": urls.playlist(stream.name),
        "rtmp_url": urls.rtmp,
        "whip_url": urls.whip(stream.name),
    }


def _new_key_fields(request: web.Request, new: NewStreamKey) -> dict[str, Any]:
    """The fields of :class:`NewKeyOut` (and its extensions)."""
    urls = context(request).public_urls()
    return {
        "key": StreamKeyOut.of(new.info),
        "stream_key": new.key,
        "rtmp_url": urls.rtmp,
        "whip_url": urls.whip(new.stream.name),
    }


async def _managed_stream(request: web.Request, name: str) -> LiveStream:
    """The stream, if the caller manages it; 404 otherwise (whether or not it exists)."""
    stream = await _streams(request).by_name(name)
    channel = await channel_store(request).by_id(stream.channel_id) if stream and stream.channel_id else None
    require_manager(request, channel.owner_id if channel else None, hidden=True, what="live stream")
    if stream is None:
        raise not_found("live stream")
    return stream


class LiveStreamsView(ApiView):
    async def get(self, page: PageQuery) -> r200[LiveStreamPage]:
        """The caller's channel's live streams, newest first.

        Tags: live streams
        Security: bearer
        """
        channel = await own_channel(self.request, "live streams")
        rows = await _streams(self.request).for_channel(
            channel.id, after_id=_BY_ID.decode(page.cursor), limit=page.limit + 1
        )
        items, next_cursor = _BY_ID.page(rows, page.limit, key=lambda stream: stream.id)
        live = set(self.ctx.live_now())
        out = [LiveStreamOut(**_stream_fields(self.request, stream, live)) for stream in items]
        return respond(LiveStreamPage(items=out, next_cursor=next_cursor))

    async def post(self, new: NewLiveStreamIn) -> r201[NewLiveStreamOut]:
        """Create a live stream on the caller's channel, with its first key.

        Tags: live streams
        Security: bearer
        """
        channel = await own_channel(self.request, "live streams")
        try:
            created = await _streams(self.request).create(new.name, new.title, channel_id=channel.id)
        except StreamExists as exc:
            raise conflict("stream_exists", str(exc)) from None
        stream = LiveStreamOut(**_stream_fields(self.request, created.stream, set(self.ctx.live_now())))
        return respond(NewLiveStreamOut(**_new_key_fields(self.request, created), stream=stream), 201)


class LiveNowView(ApiView):
    async def get(self, page: PageQuery) -> r200[LiveNowPage]:
        """Streams being published right now, by name.

        Tags: live streams
        """
        after = _BY_NAME.decode(page.cursor)
        names = sorted(name for name in self.ctx.live_now() if after is None or name > after)
        found = await _streams(self.request).with_handles(names[: page.limit + 1])
        items, next_cursor = _BY_NAME.page(found, page.limit, key=lambda pair: pair[0].name)
        live = set(names)
        out = [
            LiveNowOut(**_stream_fields(self.request, stream, live), channel=handle)
            for stream, handle in items
        ]
        return respond(LiveNowPage(items=out, next_cursor=next_cursor))


class LiveStreamView(ApiView):
    async def get(self, name: StreamName, /) -> r200[LiveNowOut]:
        """One stream as its watch page shows it (live or not): public, like the page.

        Tags: live streams
        """
        found = await _streams(self.request).with_handles([name])
        if not found:
            raise not_found("live stream")
        stream, handle = found[0]
        live = set(self.ctx.live_now())
        return respond(LiveNowOut(**_stream_fields(self.request, stream, live), channel=handle))

    async def patch(self, name: StreamName, /, changes: LiveStreamPatch) -> r200[LiveStreamOut]:
        """Change a stream's settings: whether it is recorded (from its next start).

        Tags: live streams
        Security: bearer
        """
        stream = await _managed_stream(self.request, name)
        if changes.record is not None:
            updated = await _streams(self.request).set_record(stream.id, changes.record)
            if updated is None:
                raise not_found("live stream")
            stream = updated
        return respond(LiveStreamOut(**_stream_fields(self.request, stream, set(self.ctx.live_now()))))


class StreamKeysView(ApiView):
    async def get(self, name: StreamName, /) -> r200[list[StreamKeyOut]]:
        """The stream's active keys (never their secret).

        Tags: live streams
        Security: bearer
        """
        stream = await _managed_stream(self.request, name)
        keys = await _streams(self.request).keys(stream.id)
        return web.json_response([StreamKeyOut.of(key).model_dump(mode="json") for key in keys])

    async def post(self, name: StreamName, /, new: NewKeyIn) -> r201[NewKeyOut]:
        """Add a key (e.g. for a backup encoder); the stream keeps its other keys.

        Tags: live streams
        Security: bearer
        """
        stream = await _managed_stream(self.request, name)
        try:
            created = await _streams(self.request).add_key(stream, new.label)
        except TooManyKeys as exc:
            raise conflict("too_many_keys", str(exc)) from None
        return respond(NewKeyOut(**_new_key_fields(self.request, created)), 201)


class StreamKeyView(ApiView):
    async def delete(self, name: StreamName, key_id: Id, /) -> r204:
        """Revoke a key: publishing with it is refused from now on.

        Tags: live streams
        Security: bearer
        """
        stream = await _managed_stream(self.request, name)
        if not await _streams(self.request).revoke_key(stream, key_id):
            raise not_found("stream key")
        return web.Response(status=204)


class RotateStreamKeyView(ApiView):
    async def post(self, name: StreamName, key_id: Id, /) -> r201[NewKeyOut]:
        """Replace a key with a new one (same label): the old key stops working.

        Tags: live streams
        Security: bearer
        """
        stream = await _managed_stream(self.request, name)
        rotated = await _streams(self.request).rotate_key(stream, key_id)
        if rotated is None:
            raise not_found("stream key")
        return respond(NewKeyOut(**_new_key_fields(self.request, rotated)), 201)


def add_routes(api: web.Application) -> None:
    api.router.add_view("/live-streams", LiveStreamsView)
    api.router.add_view("/live-now", LiveNowView)
    api.router.add_view("/live-streams/{name}", LiveStreamView)
    api.router.add_view("/live-streams/{name}/keys", StreamKeysView)
    api.router.add_view("/live-streams/{name}/keys/{key_id}", StreamKeyView)
    api.router.add_view("/live-streams/{name}/keys/{key_id}/rotate", RotateStreamKeyView)
