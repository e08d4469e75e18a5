"""Origin HTTP routes for stored videos: HLS VOD playlists, media and thumbnails, from storage.

URLs, the shape of the live ones (``{video}`` is a public id, ``{rendition}`` matches
``NAME_PATTERN``, media names are the canonical live names; nothing else reaches a handler):

- ``/vod/{video}/master.m3u8`` — multivariant playlist
- ``/vod/{video}/{rendition}/index.m3u8`` — media playlist
- ``/vod/{video}/{rendition}/init{N}.mp4``, ``seg{MSN}.m4s`` — media (ranged GET and HEAD)
- ``/vod/{video}/thumb{N}.jpg`` — thumbnail ``N`` (its catalog id)

Storage keys come from the catalog (a rendition's media files sit beside its media playlist)
plus a name the route pattern matched, never from the request alone.

Access, :func:`catalog.videos.may_watch` for a viewer the origin cannot identify: a public
video plays for anyone; an unlisted or private one needs ``?token=`` with a playback token for
that video (:mod:`catalog.playback_tokens`; ``POST /api/v1/videos/{id}/playback-token``), which
the served playlists then pass on to every URI they list. Viewer-bound tokens are for edges
that know the viewer: the origin does not, so it refuses them. A private video without a
valid token answers 404, exactly like an unknown one; an unlisted one (anyone with its id may
watch it) answers 403, saying a token is needed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import hdrs, web

from catalog import playback_tokens
from catalog.recordings import StoredVideo
from catalog.videos import PUBLIC_ID_PATTERN, Privacy
from origin.http_common import CORS, add_read_only_resources, http_error
from origin.live_routes import IMMUTABLE, MEDIA_TYPE, NAME_PATTERN, PLAYLIST_TYPE
from packager.live.names import MEDIA_NAME_PATTERN, MEDIA_PLAYLIST_NAME, NUMBER_PATTERN, parse_media_name
from vod.storage import ObjectNotFound, Storage

VIDEO_PATTERN = PUBLIC_ID_PATTERN.removeprefix("^").removesuffix("$")
JPEG_TYPE = "image/jpeg"
PLAYLIST_MAX_AGE = 60
"""Seconds a playlist may be cached: a VOD's never changes, but its privacy may."""
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
"""Media fetched with a token: immutable, but no shared cache should keep it."""

_RANGE = re.compile(r"bytes=([0-9]{1,15})?-([0-9]{1,15})?", re.IGNORECASE)
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')

FindVideo = Callable[[str], Awaitable[StoredVideo | None]]


def add_vod_routes(
    app: web.Application, storage: Storage, find_video: FindVideo, playback_key: bytes
) -> None:
    """Mount the VOD routes; ``find_video`` is :meth:`catalog.recordings.Recordings.stored_video`."""
    handlers = _VodHandlers(storage, find_video, playback_key)
    video = f"/vod/{{video:{VIDEO_PATTERN}}}"
    rendition = f"{video}/{{rendition:{NAME_PATTERN}}}"
    add_read_only_resources(
        app,
        (
            (f"{video}/master.m3u8", handlers.multivariant),
            (f"{rendition}/{MEDIA_PLAYLIST_NAME}", handlers.media_playlist),
            (f"{rendition}/{{name:{MEDIA_NAME_PATTERN}}}", handlers.media),
            (f"{video}/thumb{{thumbnail:{NUMBER_PATTERN}}}.jpg", handlers.thumbnail),
        ),
    )


class _VodHandlers:
    def __init__(self, storage: Storage, find_video: FindVideo, playback_key: bytes) -> None:
        self._storage = storage
        self._find_video = find_video
        self._playback_key = playback_key

    async def multivariant(self, request: web.Request) -> web.Response:
        video, token = await self._authorized(request)
        return await self._playlist(video.playlist_path, token)

    async def media_playlist(self, request: web.Request) -> web.Response:
        video, token = await self._authorized(request)
        return await self._playlist(_rendition_playlist(video, request), token)

    async def media(self, request: web.Request) -> web.Response:
        video, token = await self._authorized(request)
        name = request.match_info["name"]
        parsed = parse_media_name(name)
        assert parsed is not None  # the route's pattern admits canonical names only
        if parsed[0] == "part":
            raise http_error(web.HTTPNotFound, "a video has no parts, only segments")
        directory = posixpath.dirname(_rendition_playlist(video, request))
        return await self._object(request, f"{directory}/{name}", MEDIA_TYPE, token)

    async def thumbnail(self, request: web.Request) -> web.Response:
        video, token = await self._authorized(request)
        path = video.thumbnails.get(int(request.match_info["thumbnail"]))
        if path is None:
            raise http_error(web.HTTPNotFound, "the video has no such thumbnail")
        return await self._object(request, path, JPEG_TYPE, token)

    async def _authorized(self, request: web.Request) -> tuple[StoredVideo, str | None]:
        """The video, if this request may play it (module docstring), and the token it used."""
        public_id = request.match_info["video"]
        video = await self._find_video(public_id)
        if video is None:
            raise http_error(web.HTTPNotFound, "no such video")
        if video.privacy is Privacy.PUBLIC:
            return video, None
        token = request.query.get("token")
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
        return video, token

    async def _playlist(self, key: str, token: str | None) -> web.Response:
        try:
            text = (await self._storage.get(key)).decode()
        except ObjectNotFound:
            raise http_error(web.HTTPNotFound, "the playlist is missing from storage") from None
        if token is not None:
            text = _with_token(text, token)
        privacy = "public" if token is None else "private"
        response = web.Response(
            body=text.encode(),
            headers={
                hdrs.CONTENT_TYPE: PLAYLIST_TYPE,
                hdrs.CACHE_CONTROL: f"{privacy}, max-age={PLAYLIST_MAX_AGE}",
                **CORS,
            },
        )
        response.enable_compression()
        return response

    async def _object(
        self, request: web.Request, key: str, content_type: str, token: str | None
    ) -> web.Response:
        """Media bytes: whole, or the one byte range asked for; HEAD reads only the size."""
        headers = {
            hdrs.CONTENT_TYPE: content_type,
            hdrs.CACHE_CONTROL: IMMUTABLE if token is None else PRIVATE_IMMUTABLE,
            hdrs.ACCEPT_RANGES: "bytes",
            **CORS,
        }
        wanted = request.headers.get(hdrs.RANGE)
        try:
            if wanted is None and request.method == hdrs.METH_GET:
                return web.Response(body=await self._storage.get(key), headers=headers)
            size = (await self._storage.head(key)).size
            span = _byte_range(wanted, size) if wanted is not None else None
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
        except _Unsatisfiable as bad:
            raise http_error(
                web.HTTPRequestRangeNotSatisfiable, str(bad), {hdrs.CONTENT_RANGE: f"bytes */{size}"}
            ) from None
        return web.Response(status=status, body=body, headers=headers)


class _Unsatisfiable(ValueError):
    pass


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``bytes`` range (RFC 9110 §14.1.2) within ``size`` bytes.

    None for another range unit, which must be ignored (the whole object is served). Raises
    :class:`_Unsatisfiable` for malformed, multiple or unsatisfiable ranges: answered 416.
    """
    if not header.lower().startswith("bytes="):
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match[1] is None and match[2] is None:
        raise _Unsatisfiable("one byte range, as bytes=first-last, bytes=first- or bytes=-suffix")
    first, last = match[1], match[2]
    if first is None:  # the last N bytes
        if int(last) == 0 or size == 0:
            raise _Unsatisfiable("an empty suffix range")
        return max(0, size - int(last)), size
    start = int(first)
    if last is not None and int(last) < start:
        raise _Unsatisfiable("the range ends before it starts")
    if start >= size:
        raise _Unsatisfiable(f"the range starts past the end ({size} bytes)")
    return start, size if last is None else min(int(last) + 1, size)


def _rendition_playlist(video: StoredVideo, request: web.Request) -> str:
    path = video.renditions.get(request.match_info["rendition"])
    if path is None:
        raise http_error(web.HTTPNotFound, "the video has no such rendition")
    return path


def _with_token(playlist: str, token: str) -> str:
    """The playlist with ``token`` added to every URI it lists (lines and ``URI=`` attributes)."""
    query = "?" + urlencode({"token": token})
    lines = []
    for line in playlist.splitlines():
        if line and not line.startswith("#"):
            line += query
        else:
            line = _URI_ATTRIBUTE.sub(lambda match: f'URI="{match[1]}{query}"', line)
        lines.append(line)
    return "\n".join(lines) + "\n"
