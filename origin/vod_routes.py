"""Origin HTTP routes for stored videos: HLS VOD playlists, media and thumbnails, from storage.

URLs (:mod:`origin.url_scheme`; nothing else reaches a handler), the shape of the live ones:

- ``/vod/{video}/master.m3u8`` — multivariant playlist
- ``/vod/{video}/{rendition}/index.m3u8`` — media playlist
- ``/vod/{video}/{rendition}/init{N}.mp4``, ``seg{MSN}.m4s`` — media (ranged GET and HEAD)
- ``/vod/{video}/thumb{N}.jpg`` — thumbnail ``N`` (its catalog id)
- ``/vod/{video}/storyboard.vtt`` — seek previews of a transcoded upload: WebVTT cues naming
  tiles of its sprite sheets, which are thumbnails (``thumb{N}.jpg#xywh=…``)

Storage keys come from the catalog (a rendition's media files sit beside its media playlist)
plus a name the route pattern matched, never from the request alone.

Access, :func:`catalog.videos.may_watch` for a viewer the origin cannot identify: a public
video plays for anyone; an unlisted or private one needs ``?token=`` with a playback token for
that video (:mod:`catalog.playback_tokens`; ``POST /api/v1/videos/{id}/playback-token``), which
the served playlists then pass on to every URI they list. Viewer-bound tokens are for edges
that know the viewer: the origin does not, so it refuses them. A private video without a
valid token answers 404, exactly like an unknown one; an unlisted one (anyone with its id may
watch it) answers 403, saying a token is needed. The storyboard track passes a token on to its
sprite sheets as playlists do. An edge fetches with a token of its own in a header and caches
the answer for every viewer whose token it checks (:mod:`origin.edge_access`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import hdrs, web

from catalog import playback_tokens
from catalog.recordings import StoredVideo
from catalog.videos import Privacy
from origin.byte_ranges import Unsatisfiable, byte_range
from origin.edge_access import ACCESS, CDN_CACHE_CONTROL, EDGE_TOKEN, RESTRICTED
from origin.http_common import CORS, add_read_only_resources, http_error
from origin.live_routes import IMMUTABLE, MEDIA_TYPE, PLAYLIST_TYPE
from origin.playlist_tokens import VTT_TYPE, track_with_token, with_token
from origin.url_scheme import (
    VOD_MEDIA,
    VOD_MEDIA_PLAYLIST,
    VOD_MULTIVARIANT,
    VOD_STORYBOARD,
    VOD_THUMBNAIL,
)
from packager.live.names import parse_media_name
from vod.storage import ObjectNotFound, Storage

JPEG_TYPE = "image/jpeg"
PLAYLIST_CACHING = "max-age=60, stale-if-error=86400"
"""A VOD's playlist never changes but its privacy may: caches ask again after a minute, and
edges keep serving it for a day when no origin answers (RFC 5861)."""
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
"""Media fetched with a token: immutable, but no shared cache should keep it..."""
EDGE_IMMUTABLE = "max-age=31536000, immutable"
"""...except an edge, which checks every viewer's token itself (origin.edge_access)."""


FindVideo = Callable[[str], Awaitable[StoredVideo | None]]


def add_vod_routes(
    app: web.Application, storage: Storage, find_video: FindVideo, playback_key: bytes
) -> None:
    """Mount the VOD routes; ``find_video`` is :meth:`catalog.recordings.Recordings.stored_video`."""
    handlers = _VodHandlers(storage, find_video, playback_key)
    add_read_only_resources(
        app,
        (
            (VOD_MULTIVARIANT, handlers.multivariant),
            (VOD_MEDIA_PLAYLIST, handlers.media_playlist),
            (VOD_MEDIA, handlers.media),
            (VOD_THUMBNAIL, handlers.thumbnail),
            (VOD_STORYBOARD, handlers.storyboard),
        ),
    )


class _VodHandlers:
    def __init__(self, storage: Storage, find_video: FindVideo, playback_key: bytes) -> None:
        self._storage = storage
        self._find_video = find_video
        self._playback_key = playback_key

    async def multivariant(self, request: web.Request) -> web.Response:
        video, grant = await self._authorized(request)
        return await self._text(video.playlist_path, grant, PLAYLIST_TYPE, with_token)

    async def media_playlist(self, request: web.Request) -> web.Response:
        video, grant = await self._authorized(request)
        return await self._text(_rendition_playlist(video, request), grant, PLAYLIST_TYPE, with_token)

    async def storyboard(self, request: web.Request) -> web.Response:
        video, grant = await self._authorized(request)
        if video.storyboard is None:
            raise http_error(web.HTTPNotFound, "the video has no storyboard")
        return await self._text(video.storyboard, grant, VTT_TYPE, track_with_token)

    async def media(self, request: web.Request) -> web.Response:
        video, grant = await self._authorized(request)
        name = request.match_info["name"]
        parsed = parse_media_name(name)
        assert parsed is not None  # the route's pattern admits canonical names only
        if parsed[0] == "part":
            raise http_error(web.HTTPNotFound, "a video has no parts, only segments")
        directory = posixpath.dirname(_rendition_playlist(video, request))
        return await self._object(request, f"{directory}/{name}", MEDIA_TYPE, grant)

    async def thumbnail(self, request: web.Request) -> web.Response:
        video, grant = await self._authorized(request)
        path = video.thumbnails.get(int(request.match_info["thumbnail"]))
        if path is None:
            raise http_error(web.HTTPNotFound, "the video has no such thumbnail")
        return await self._object(request, path, JPEG_TYPE, grant)

    async def _authorized(self, request: web.Request) -> tuple[StoredVideo, _Grant | None]:
        """The video, if this request may play it (module docstring), and how it was let in."""
        public_id = request.match_info["video"]
        video = await self._find_video(public_id)
        if video is None:
            raise http_error(web.HTTPNotFound, "no such video")
        if video.privacy is Privacy.PUBLIC:
            return video, None
        edge_token = request.headers.get(EDGE_TOKEN)
        token = edge_token if edge_token is not None else request.query.get("token")
        try:
            if token is None:
                raise playback_tokens.InvalidPlaybackToken("no token")
            playback_tokens.verify(self._playback_key, token, public_id)
        except playback_tokens.InvalidPlaybackToken as refused:
            if video.privacy is Privacy.PRIVATE:
                raise http_error(web.HTTPNotFound, "no such video") from None
            raise http_error(
                web.HTTPForbidden,
                f"this video plays with a playback token ({refused}): "
                f"POST /api/v1/videos/{public_id}/playback-token",
            ) from None
        return video, _Grant(token, for_edge=edge_token is not None)

    async def _text(
        self, key: str, grant: _Grant | None, content_type: str, add_token: Callable[[str, str], str]
    ) -> web.Response:
        """A playlist or a track: the URIs it lists get the viewer's token (``add_token``)."""
        try:
            text = (await self._storage.get(key)).decode()
        except ObjectNotFound:
            missing = f"{posixpath.basename(key)} is missing from storage"
            raise http_error(web.HTTPNotFound, missing) from None
        if grant is not None and not grant.for_edge:
            text = add_token(text, grant.token)
        privacy = "public" if grant is None else "private"
        response = web.Response(
            body=text.encode(),
            headers={
                hdrs.CONTENT_TYPE: content_type,
                hdrs.CACHE_CONTROL: f"{privacy}, {PLAYLIST_CACHING}",
                **_access_headers(grant, PLAYLIST_CACHING),
                **CORS,
            },
        )
        response.enable_compression()
        return response

    async def _object(
        self, request: web.Request, key: str, content_type: str, grant: _Grant | None
    ) -> web.Response:
        """Media bytes: whole, or the one byte range asked for; HEAD reads only the size."""
        headers = {
            hdrs.CONTENT_TYPE: content_type,
            hdrs.CACHE_CONTROL: IMMUTABLE if grant is None else PRIVATE_IMMUTABLE,
            **_access_headers(grant, EDGE_IMMUTABLE),
            hdrs.ACCEPT_RANGES: "bytes",
            **CORS,
        }
        wanted = request.headers.get(hdrs.RANGE)
        try:
            if wanted is None and request.method == hdrs.METH_GET:
                return web.Response(body=await self._storage.get(key), headers=headers)
            size = (await self._storage.head(key)).size
            span = byte_range(wanted, size) if wanted is not None else None
            start, end = span or (0, size)
            if span is not None:
                headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{size}"
            status = 200 if span is None else 206
            if request.method == hdrs.METH_HEAD:
                headers[hdrs.CONTENT_LENGTH] = str(end - start)
                return web.Response(status=status, headers=headers)
            body = await self._storage.get_range(key, start, end)
        except ObjectNotFound:
            raise http_error(web.HTTPNotFound, f"{posixpath.basename(key)} is not available") from None
        except Unsatisfiable as bad:
            raise http_error(
                web.HTTPRequestRangeNotSatisfiable, str(bad), {hdrs.CONTENT_RANGE: f"bytes */{size}"}
            ) from None
        return web.Response(status=status, body=body, headers=headers)


def _rendition_playlist(video: StoredVideo, request: web.Request) -> str:
    path = video.renditions.get(request.match_info["rendition"])
    if path is None:
        raise http_error(web.HTTPNotFound, "the video has no such rendition")
    return path


@dataclass(frozen=True, slots=True)
class _Grant:
    """A valid playback token let this request in; ``for_edge``: an edge sent it (edge_access)."""

    token: str
    for_edge: bool


def _access_headers(grant: _Grant | None, edge_cache_control: str) -> dict[str, str]:
    """Tell an edge that viewers need a token, and that it may keep the answer all the same."""
    if grant is None:
        return {}
    if not grant.for_edge:
        return {ACCESS: RESTRICTED}
    return {ACCESS: RESTRICTED, CDN_CACHE_CONTROL: edge_cache_control}
