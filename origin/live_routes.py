"""Origin HTTP routes for live streams: LL-HLS playlists with blocking reload, and media bytes.

URLs (:mod:`origin.url_scheme`; nothing else reaches a handler, so traversal is impossible by
construction):

- ``/live/{stream}/master.m3u8`` — multivariant playlist
- ``/live/{stream}/{rendition}/index.m3u8`` — media playlist (Delivery Directives honoured)
- ``/live/{stream}/{rendition}/init{N}.mp4``, ``seg{MSN}.m4s``, ``part{N}.m4s`` — media

Every wait is bounded (blocking reloads and hinted parts by ``block_timeout_factor`` target
durations, start-up by ``ready_timeout``) and cleans up after itself, so a client that goes
away leaves nothing behind once its wait ends. Run the app with
``AppRunner(app, handler_cancellation=True)`` to end such waits the moment the client
disconnects instead.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiohttp import hdrs, web

from origin.hls_directives import DirectiveError, check_reach, parse_directives
from origin.http_common import CORS, add_read_only_resources, http_error
from origin.live_view import LiveStreamView
from packager.live.llhls_playlist import (
    RenditionReport,
    render_media_playlist,
    render_multivariant_playlist,
    sibling_playlist_uri,
)
from origin.url_scheme import LIVE_MEDIA, LIVE_MEDIA_PLAYLIST, LIVE_MULTIVARIANT
from packager.live.names import parse_media_name
from packager.live.window import LiveWindow

log = structlog.get_logger(__name__)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
MEDIA_TYPE = "video/mp4"
IMMUTABLE = "public, max-age=31536000, immutable"
HINT_LOOKAHEAD_PARTS = 2
"""A part request may wait if it names the hinted part or one of the next this many."""

_INLINE_COMPRESSION_LIMIT = 1 << 20
"""Playlists are a few KB: compress them on the loop instead of hopping to a thread."""


def add_live_routes(
    app: web.Application,
    lookup: Callable[[str], LiveStreamView | None],
    *,
    block_timeout_factor: float = 3.0,
    ready_timeout: float = 5.0,
) -> None:
    """Mount the live routes; ``lookup`` maps a stream name to its view, ``None`` when offline."""
    handlers = _LiveHandlers(lookup, block_timeout_factor, ready_timeout)
    add_read_only_resources(
        app,
        (
            (LIVE_MULTIVARIANT, handlers.multivariant),
            (LIVE_MEDIA_PLAYLIST, handlers.media_playlist),
            (LIVE_MEDIA, handlers.media),
        ),
    )


class _LiveHandlers:
    def __init__(
        self,
        lookup: Callable[[str], LiveStreamView | None],
        block_timeout_factor: float,
        ready_timeout: float,
    ) -> None:
        self._lookup = lookup
        self._block_timeout_factor = block_timeout_factor
        self._ready_timeout = ready_timeout

    async def multivariant(self, request: web.Request) -> web.Response:
        stream = self._stream(request)
        if not await stream.wait_ready(self._ready_timeout):
            raise _starting()
        return _playlist(render_multivariant_playlist(stream.variants()), "no-cache")

    async def media_playlist(self, request: web.Request) -> web.Response:
        stream, window = self._rendition(request)
        try:
            directives = parse_directives(request.query)
        except DirectiveError as bad:
            raise http_error(web.HTTPBadRequest, str(bad)) from None
        if not await window.wait_ready(self._ready_timeout):
            raise _starting()
        if directives.msn is not None and not window.ended:
            await self._block(window, directives.msn, directives.part)
        snapshot = window.snapshot()
        text = render_media_playlist(
            snapshot,
            skip=directives.skip is not None,
            skip_dateranges=directives.skip == "v2",
            rendition_reports=_rendition_reports(stream, request.match_info["rendition"]),
        )
        # A blocking response only depends on its directives (any playlist that contains the
        # requested part answers it), so shared caches may keep it briefly and coalesce clients.
        cache_control = (
            f"public, max-age={snapshot.target_duration}"
            if directives.msn is not None
            else "no-cache"
        )
        return _playlist(text, cache_control)

    async def media(self, request: web.Request) -> web.Response:
        _, window = self._rendition(request)
        name = request.match_info["name"]
        parsed = parse_media_name(name)
        assert parsed is not None  # the route's pattern admits canonical names only
        kind, number = parsed
        if kind == "init":
            data = window.init_bytes(number)
        elif kind == "segment":
            data = window.segment_bytes(number)
        else:
            data = await self._part(window, number)
        if data is None:
            raise http_error(web.HTTPNotFound, f"{name} is not available")
        return web.Response(
            body=data,
            headers={hdrs.CONTENT_TYPE: MEDIA_TYPE, hdrs.CACHE_CONTROL: IMMUTABLE, **CORS},
        )

    async def _block(self, window: LiveWindow, msn: int, part: int | None) -> None:
        """Hold a blocking reload until the playlist reaches it (rfc8216bis §6.2.5.2)."""
        position, part_target = window.last_position, window.part_target
        assert position is not None and part_target is not None  # the window has a part
        try:
            check_reach(msn, part, position, part_target)
        except DirectiveError as bad:
            raise http_error(web.HTTPBadRequest, str(bad)) from None
        timeout = self._block_timeout_factor * window.target_duration
        if not await window.wait_for(msn, part, timeout) and not window.ended:
            log.debug("blocking_reload_timeout", msn=msn, part=part)
            raise http_error(
                web.HTTPServiceUnavailable,
                f"the playlist did not reach the request within {timeout:g} s",
            )

    async def _part(self, window: LiveWindow, index: int) -> bytes | None:
        """Parts at the preload hint (or just past it) are waited for; the rest answer at once."""
        hinted = window.next_part_index
        if hinted <= index <= hinted + HINT_LOOKAHEAD_PARTS:
            timeout = self._block_timeout_factor * window.target_duration
            return await window.wait_part(index, timeout)
        return window.part_bytes(index)

    def _stream(self, request: web.Request) -> LiveStreamView:
        name = request.match_info["stream"]
        stream = self._lookup(name)
        if stream is None:
            raise http_error(web.HTTPNotFound, f"stream {name!r} is not live")
        return stream

    def _rendition(self, request: web.Request) -> tuple[LiveStreamView, LiveWindow]:
        stream = self._stream(request)
        name = request.match_info["rendition"]
        window = stream.rendition(name)
        if window is None:
            raise http_error(
                web.HTTPNotFound,
                f"stream {request.match_info['stream']!r} has no rendition {name!r}",
            )
        return stream, window


def _rendition_reports(stream: LiveStreamView, current: str) -> list[RenditionReport]:
    """Where every sibling rendition's live edge is, so players switch without a tune-in."""
    reports = []
    for variant in stream.variants():
        sibling = stream.rendition(variant.name) if variant.name != current else None
        position = sibling.last_position if sibling is not None else None
        if position is not None:
            reports.append(RenditionReport(sibling_playlist_uri(variant.name), *position))
    return reports


def _playlist(text: str, cache_control: str) -> web.Response:
    response = web.Response(
        body=text.encode(),
        headers={hdrs.CONTENT_TYPE: PLAYLIST_TYPE, hdrs.CACHE_CONTROL: cache_control, **CORS},
        zlib_executor_size=_INLINE_COMPRESSION_LIMIT,
    )
    response.enable_compression()
    return response


def _starting() -> web.HTTPException:
    return http_error(
        web.HTTPServiceUnavailable, "the stream has no media yet", {hdrs.RETRY_AFTER: "1"}
    )


