"""VOD from object storage when no origin answers: the edge's :data:`edge.proxy.StorageFallback`.

An edge has no database, so what the origin looks up in the catalog (who may see a video, where
its playlists and thumbnails are) comes from the video's playback manifest in storage
(:mod:`vod.playback_manifest`). The answer is the one an origin gives an edge (origin/
vod_routes.py, origin/edge_access.py): the same bytes, the same ``Cache-Control``; for unlisted
and private videos ``Tributary-Access: token`` and a ``CDN-Cache-Control`` that lets the edge
keep the object, playlists without tokens (the proxy checks each viewer's token and adds it).

Manifests are kept in memory for a few seconds, so that with every origin down a viewer's run
of segment requests costs one manifest read per video, not one per segment. A name the manifest
rules out (no such rendition or thumbnail, a part) answers 404 as an origin would; no manifest,
an object missing from storage, or storage failing answers None, and the proxy then serves a
stale copy or 502.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from aiohttp import hdrs, web
from cachetools import TTLCache

from catalog.recordings import StoredVideo
from catalog.videos import Privacy
from edge.single_flight import SingleFlight
from edge.upstream import PASSED_HEADERS, ObjectTooLarge, UpstreamResponse
from origin.edge_access import ACCESS, CDN_CACHE_CONTROL, RESTRICTED
from origin.http_common import http_error
from origin.live_routes import IMMUTABLE, MEDIA_TYPE, PLAYLIST_TYPE
from origin.playlist_tokens import VTT_TYPE
from origin.vod_routes import EDGE_IMMUTABLE, JPEG_TYPE, PLAYLIST_CACHING, PRIVATE_IMMUTABLE
from packager.live.names import parse_media_name
from vod.playback_manifest import read_manifest
from vod.storage import ObjectNotFound, Storage, StorageError

log = structlog.get_logger(__name__)

MANIFEST_SECONDS = 10.0
"""How long a manifest read (or its absence) is reused: also how late a privacy change made
while every origin is down reaches this edge, on top of the minute playlists are cached."""
MANIFESTS_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class _Caching:
    """The origin's caching headers for one kind of object (origin/vod_routes.py)."""

    public: str
    restricted: str
    edge: str
    """``CDN-Cache-Control`` for restricted videos: the edge may keep what viewers may not."""


_PLAYLIST = _Caching(
    f"public, {PLAYLIST_CACHING}", f"private, {PLAYLIST_CACHING}", PLAYLIST_CACHING
)
_MEDIA = _Caching(IMMUTABLE, PRIVATE_IMMUTABLE, EDGE_IMMUTABLE)
_UNKNOWN = object()


class StorageFallback:
    def __init__(
        self,
        storage: Storage,
        *,
        max_bytes: int,
        manifest_seconds: float = MANIFEST_SECONDS,
        manifests_kept: int = MANIFESTS_KEPT,
    ) -> None:
        self._storage = storage
        self._max_bytes = max_bytes
        self._manifests: TTLCache[str, StoredVideo | None] = TTLCache(
            manifests_kept, manifest_seconds
        )
        self._reads: SingleFlight[StoredVideo | None] = SingleFlight()

    async def __call__(self, match: Mapping[str, str]) -> UpstreamResponse | None:
        public_id = match["video"]
        try:
            video = await self._manifest(public_id)
            return None if video is None else await self._answer(video, match)
        except ObjectNotFound:
            return None
        except StorageError as exc:
            log.warning("edge.storage_failed", video=public_id, error=repr(exc))
            return None

    async def _manifest(self, public_id: str) -> StoredVideo | None:
        cached = self._manifests.get(public_id, _UNKNOWN)
        if cached is not _UNKNOWN:
            return cached  # type: ignore[return-value]
        return await self._reads.run(public_id, lambda: self._read_manifest(public_id))

    async def _read_manifest(self, public_id: str) -> StoredVideo | None:
        video = await read_manifest(self._storage, public_id)
        self._manifests[public_id] = video
        return video

    async def _answer(self, video: StoredVideo, match: Mapping[str, str]) -> UpstreamResponse:
        """What the origin's handler for this route would answer an edge (origin/vod_routes.py)."""
        restricted = video.privacy is not Privacy.PUBLIC
        if "track" in match:
            if video.storyboard is None:
                return _not_found("the video has no storyboard")
            return await self._object(video.storyboard, VTT_TYPE, _PLAYLIST, restricted)
        if "thumbnail" in match:
            path = video.thumbnails.get(int(match["thumbnail"]))
            if path is None:
                return _not_found("the video has no such thumbnail")
            return await self._object(path, JPEG_TYPE, _MEDIA, restricted)
        rendition = match.get("rendition")
        playlist = video.playlist_path if rendition is None else video.renditions.get(rendition)
        if playlist is None:
            return _not_found("the video has no such rendition")
        name = match.get("name")
        if name is None:
            return await self._object(playlist, PLAYLIST_TYPE, _PLAYLIST, restricted)
        parsed = parse_media_name(name)
        assert parsed is not None  # the route's pattern admits canonical names only
        if parsed[0] == "part":
            return _not_found("a video has no parts, only segments")
        media = f"{posixpath.dirname(playlist)}/{name}"
        return await self._object(media, MEDIA_TYPE, _MEDIA, restricted)

    async def _object(
        self, key: str, content_type: str, caching: _Caching, restricted: bool
    ) -> UpstreamResponse:
        # One byte more than allowed tells "too large" without reading all of a huge object.
        body = await self._storage.get_range(key, 0, self._max_bytes + 1)
        if len(body) > self._max_bytes:
            raise ObjectTooLarge(f"{key} is over {self._max_bytes} bytes")
        headers = [(hdrs.CONTENT_TYPE, content_type)]
        if restricted:
            headers += [
                (hdrs.CACHE_CONTROL, caching.restricted),
                (ACCESS, RESTRICTED),
                (CDN_CACHE_CONTROL, caching.edge),
            ]
        else:
            headers.append((hdrs.CACHE_CONTROL, caching.public))
        return UpstreamResponse(200, tuple(headers), body)


def _not_found(message: str) -> UpstreamResponse:
    """The origin's 404, as an edge keeps it (:data:`edge.upstream.PASSED_HEADERS`)."""
    error = http_error(web.HTTPNotFound, message)
    assert isinstance(error.body, bytes)  # http_error sets text
    kept = tuple((name, value) for name, value in error.headers.items() if name in PASSED_HEADERS)
    return UpstreamResponse(error.status, kept, error.body)
