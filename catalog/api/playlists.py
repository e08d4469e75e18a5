"""Playlists: ``/playlists…``, ``/me/playlists`` and ``/channels/{handle}/playlists``.

The playlist id ``WL`` names the caller's own watch later playlist (made on first use), so
``POST /playlists/WL/items`` is "watch later". A playlist the caller may not see answers 404;
one they see but do not own answers 403 to changes. Item lists skip videos the caller may not
watch (any more); ``item_count`` counts every item. Items are appended; ``PATCH …/items/{video}``
with ``{"after": <video id> | null}`` moves one after another (null: to the top), which stays
well defined while others add or move items at the same time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r201, r204
from pydantic import Field, StringConstraints

from catalog.api.auth import optional_user, require_manager, require_user
from catalog.api.channels import channel_store
from catalog.api.context import context
from catalog.api.errors import conflict, not_found
from catalog.api.fields import Handle, Id, VideoPublicId, line, paragraphs
from catalog.api.pagination import Cursor, Page, PageQuery
from catalog.api.video_cards import VideoCardOut, watchable_video
from catalog.api.views import ApiModel, ApiView, respond
from catalog.playlists import (
    PUBLIC_ID_PATTERN,
    AlreadyInPlaylist,
    NotInPlaylist,
    Playlist,
    PlaylistFull,
    PlaylistKind,
    Playlists,
    may_view_playlist,
)
from catalog.video_listings import scan_visible
from catalog.videos import Privacy, Videos

WATCH_LATER = "WL"
PlaylistRef = Annotated[
    str, StringConstraints(pattern=f"^({WATCH_LATER}|{PUBLIC_ID_PATTERN.strip('^$')})$")
]
PlaylistTitle = Annotated[str, line(150)]
PlaylistDescription = Annotated[str, paragraphs(5000)]


class NewPlaylistIn(ApiModel):
    title: PlaylistTitle
    description: PlaylistDescription = ""
    privacy: Privacy = Privacy.PRIVATE


class PlaylistPatch(ApiModel):
    """Fields left out (or null) keep their value."""

    title: PlaylistTitle | None = None
    description: PlaylistDescription | None = None
    privacy: Privacy | None = None


class NewItemIn(ApiModel):
    video_id: VideoPublicId


class MoveItemIn(ApiModel):
    after: VideoPublicId | None = Field(description="The video to move after; null: to the top.")


class PlaylistOut(ApiModel):
    id: str
    kind: PlaylistKind
    owner: str = Field(description="The owner's username.")
    title: str
    description: str
    privacy: Privacy
    item_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, playlist: Playlist) -> PlaylistOut:
        return cls(
            id=playlist.public_id,
            kind=playlist.kind,
            owner=playlist.owner_username,
            title=playlist.title,
            description=playlist.description,
            privacy=playlist.privacy,
            item_count=playlist.item_count,
            created_at=playlist.created_at,
            updated_at=playlist.updated_at,
        )


class PlaylistPage(Page[PlaylistOut]):
    pass


class PlaylistItemOut(ApiModel):
    video: VideoCardOut
    added_at: datetime


class PlaylistItemPage(Page[PlaylistItemOut]):
    pass


_BY_ID: Cursor[int] = Cursor(Id)
_BY_POSITION: Cursor[int] = Cursor(Id)


def _playlists(request: web.Request) -> Playlists:
    return Playlists(context(request).pool)


async def _playlist(request: web.Request, ref: str) -> Playlist:
    """The playlist ``ref`` names (``WL``: the caller's watch later), if the caller may see it."""
    if ref == WATCH_LATER:
        return await _playlists(request).watch_later(require_user(request).user_id)
    playlist = await _playlists(request).get(ref)
    if playlist is None or not may_view_playlist(playlist, optional_user(request)):
        raise not_found("playlist")
    return playlist


async def _managed_playlist(request: web.Request, ref: str) -> Playlist:
    """As :func:`_playlist`, and the caller owns it (or is an admin): 403 otherwise."""
    require_user(request)
    playlist = await _playlist(request, ref)
    require_manager(request, playlist.owner_id, hidden=False, what="playlist")
    return playlist


def _regular(playlist: Playlist) -> Playlist:
    if playlist.kind is not PlaylistKind.REGULAR:
        raise conflict("system_playlist", "watch later cannot be renamed, published or deleted")
    return playlist


async def _video_id(request: web.Request, public_id: str) -> int | None:
    """The internal id of a video named in a change of items, or None if there is none.

    Not :func:`watchable_video`: an owner may remove or move an item whose video they can no
    longer watch, and learns nothing from it (the item is theirs).
    """
    video = await Videos(context(request).pool).get(public_id)
    return video.id if video else None


def _playlist_page(playlists: list[Playlist], limit: int) -> web.Response:
    items, next_cursor = _BY_ID.page(playlists, limit, key=lambda p: p.id)
    return respond(PlaylistPage(items=[PlaylistOut.of(p) for p in items], next_cursor=next_cursor))


class PlaylistsView(ApiView):
    async def post(self, new: NewPlaylistIn) -> r201[PlaylistOut]:
        """Create a playlist.

        Tags: playlists
        Security: bearer
        """
        principal = require_user(self.request)
        playlist = await _playlists(self.request).create(
            principal.user_id, new.title, description=new.description, privacy=new.privacy
        )
        return respond(PlaylistOut.of(playlist), 201)


class MyPlaylistsView(ApiView):
    async def get(self, page: PageQuery) -> r200[PlaylistPage]:
        """The caller's playlists, newest first, whatever their privacy.

        Tags: playlists
        Security: bearer
        """
        principal = require_user(self.request)
        rows = await _playlists(self.request).of_owner(
            principal.user_id, public_only=False, after=_BY_ID.decode(page.cursor), limit=page.limit + 1
        )
        return _playlist_page(rows, page.limit)


class ChannelPlaylistsView(ApiView):
    async def get(self, handle: Handle, /, page: PageQuery) -> r200[PlaylistPage]:
        """The public playlists of a channel's owner, newest first.

        Tags: playlists
        """
        channel = await channel_store(self.request).by_handle(handle)
        if channel is None:
            raise not_found("channel")
        rows = await _playlists(self.request).of_owner(
            channel.owner_id, public_only=True, after=_BY_ID.decode(page.cursor), limit=page.limit + 1
        )
        return _playlist_page(rows, page.limit)


class PlaylistView(ApiView):
    async def get(self, playlist_id: PlaylistRef, /) -> r200[PlaylistOut]:
        """A playlist (``WL``: the caller's watch later).

        Tags: playlists
        """
        return respond(PlaylistOut.of(await _playlist(self.request, playlist_id)))

    async def patch(self, playlist_id: PlaylistRef, /, changes: PlaylistPatch) -> r200[PlaylistOut]:
        """Rename a playlist, change its description or privacy (its owner).

        Tags: playlists
        Security: bearer
        """
        playlist = _regular(await _managed_playlist(self.request, playlist_id))
        updated = await _playlists(self.request).update(
            playlist, title=changes.title, description=changes.description, privacy=changes.privacy
        )
        if updated is None:
            raise not_found("playlist")
        return respond(PlaylistOut.of(updated))

    async def delete(self, playlist_id: PlaylistRef, /) -> r204:
        """Delete a playlist (its owner).

        Tags: playlists
        Security: bearer
        """
        playlist = _regular(await _managed_playlist(self.request, playlist_id))
        if not await _playlists(self.request).delete(playlist):
            raise not_found("playlist")
        return web.Response(status=204)


class PlaylistItemsView(ApiView):
    async def get(self, playlist_id: PlaylistRef, /, page: PageQuery) -> r200[PlaylistItemPage]:
        """A playlist's videos in order, leaving out those the caller may not watch.

        Tags: playlists
        """
        playlist = await _playlist(self.request, playlist_id)
        store = _playlists(self.request)
        items, next_key = await scan_visible(
            lambda after, n: store.items(playlist, after, n),
            _BY_POSITION.decode(page.cursor),
            page.limit,
            video=lambda item: item.listed.video,
            key=lambda item: item.position,
            principal=optional_user(self.request),
        )
        out = [PlaylistItemOut(video=VideoCardOut.of(i.listed.video), added_at=i.added_at) for i in items]
        next_cursor = None if next_key is None else _BY_POSITION.encode(next_key)
        return respond(PlaylistItemPage(items=out, next_cursor=next_cursor))

    async def post(self, playlist_id: PlaylistRef, /, new: NewItemIn) -> r204:
        """Append a video the caller may watch (each video once per playlist).

        Tags: playlists
        Security: bearer
        """
        playlist = await _managed_playlist(self.request, playlist_id)
        video = await watchable_video(self.request, new.video_id)
        try:
            added = await _playlists(self.request).add(playlist, video.id)
        except AlreadyInPlaylist as exc:
            raise conflict("already_in_playlist", str(exc)) from None
        except PlaylistFull as exc:
            raise conflict("playlist_full", str(exc)) from None
        if not added:
            raise not_found("playlist")
        return web.Response(status=204)


class PlaylistItemView(ApiView):
    async def patch(self, playlist_id: PlaylistRef, video_id: VideoPublicId, /, move: MoveItemIn) -> r204:
        """Move an item right after another one (``after: null``: to the top).

        Tags: playlists
        Security: bearer
        """
        playlist = await _managed_playlist(self.request, playlist_id)
        moving = await _video_id(self.request, video_id)
        if moving is None:
            raise not_found("playlist item")
        try:
            after = None
            if move.after is not None:
                after = await _video_id(self.request, move.after)
                if after is None:
                    raise NotInPlaylist()
            if not await _playlists(self.request).move(playlist, moving, after):
                raise not_found("playlist item")
        except NotInPlaylist as exc:
            raise conflict("not_in_playlist", str(exc)) from None
        return web.Response(status=204)

    async def delete(self, playlist_id: PlaylistRef, video_id: VideoPublicId, /) -> r204:
        """Remove a video from the playlist.

        Tags: playlists
        Security: bearer
        """
        playlist = await _managed_playlist(self.request, playlist_id)
        video = await _video_id(self.request, video_id)
        if video is None or not await _playlists(self.request).remove(playlist, video):
            raise not_found("playlist item")
        return web.Response(status=204)


def add_routes(api: web.Application) -> None:
    api.router.add_view("/playlists", PlaylistsView)
    api.router.add_view("/me/playlists", MyPlaylistsView)
    api.router.add_view("/channels/{handle}/playlists", ChannelPlaylistsView)
    api.router.add_view("/playlists/{playlist_id}", PlaylistView)
    api.router.add_view("/playlists/{playlist_id}/items", PlaylistItemsView)
    api.router.add_view("/playlists/{playlist_id}/items/{video_id}", PlaylistItemView)
