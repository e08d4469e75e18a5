"""tus 1.0.0 over aiohttp at ``/api/v1/uploads``, hand-written (see :mod:`vod.uploads.protocol`).

* ``OPTIONS`` (either path): discovery (``Tus-Version``, ``Tus-Extension``, ``Tus-Max-Size``,
  ``Tus-Checksum-Algorithm``) and the CORS preflight, without authentication.
* ``POST /api/v1/uploads``: creation, and creation-with-upload when a body comes along. Creators
  (and admins) only; ``Upload-Length`` (1 byte to ``uploads.max_size``, else 413) and
  ``Upload-Metadata`` (``title`` required; ``description``, ``privacy``, ``filename``,
  ``filetype``) make a video with status ``uploading`` on the caller's channel. 201 with an
  absolute ``Location``, ``Upload-Expires`` and ``Tributary-Video-Id`` (the video's id).
* ``HEAD …/{id}``: where to resume (``Upload-Offset``, ``Upload-Length``, ``Upload-Metadata``,
  ``Upload-Expires`` while unfinished).
* ``PATCH …/{id}``: bytes at ``Upload-Offset`` (``application/offset+octet-stream``, optional
  ``Upload-Checksum`` in sha1, md5 or sha256). 204 with the new offset.
* ``DELETE …/{id}``: termination of an unfinished upload, with its video.
* ``POST …/{id}`` with ``X-HTTP-Method-Override`` (PATCH, DELETE or HEAD), for clients that
  cannot send those methods.

Someone else's upload answers 404 like one that does not exist; an expired one 410 until the
sweeper removes it. Errors have the API's JSON shape (``{"error", "detail"}``).

This is an application of its own, mounted by the node beside the API rather than one of the
API's route modules, for three reasons: the catalog never imports storage, which this needs;
every answer, errors raised before a handler runs included, must carry ``Tus-Resumable`` and
CORS headers (a browser client reads nothing from an answer without them); and the API counts
every PATCH against the per-user write limit, which would cut off an upload sent in many small
chunks. Creation and termination are counted against that limit here; the bytes themselves
are bounded by the upload's length. It shares the API's context, so authentication is the
API's own.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from catalog.api.app import PREFIX as API_PREFIX
from catalog.api.auth import rate_limit_identity, require_manager, require_user
from catalog.api.channels import own_channel
from catalog.api.context import CONTEXT, ApiContext, context
from catalog.api.errors import ApiError, error_middleware, not_found
from catalog.uploads import UPLOAD_ID_PATTERN, Upload
from vod.uploads import protocol
from vod.uploads.metadata import video_fields
from vod.uploads.protocol import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    METHOD_OVERRIDE,
    OFFSET_OCTET_STREAM,
    TUS_RESUMABLE,
    TUS_VERSION,
    UPLOAD_EXPIRES,
    UPLOAD_LENGTH,
    UPLOAD_METADATA,
    UPLOAD_OFFSET,
)
from vod.uploads.store import UploadStore

UPLOADS_PATH: Final = f"{API_PREFIX}/uploads"
VIDEO_ID: Final = "Tributary-Video-Id"
STORE = web.AppKey("tributary_upload_store", UploadStore)

_UPLOAD_ID = re.compile(UPLOAD_ID_PATTERN)
_EXPOSED = (
    "Location",
    TUS_RESUMABLE,
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    UPLOAD_OFFSET,
    UPLOAD_LENGTH,
    UPLOAD_METADATA,
    UPLOAD_EXPIRES,
    VIDEO_ID,
    "Retry-After",
    "WWW-Authenticate",
)
_ALLOWED = (
    "Authorization",
    "Content-Type",
    TUS_RESUMABLE,
    UPLOAD_LENGTH,
    UPLOAD_METADATA,
    UPLOAD_OFFSET,
    protocol.UPLOAD_CHECKSUM,
    *protocol.UNSUPPORTED,
    METHOD_OVERRIDE,
    "X-Requested-With",
)
_CORS: Final = {
    "Access-Control-Allow-Origin": "*",  # credentials are bearer tokens, never cookies
    "Access-Control-Expose-Headers": ", ".join(_EXPOSED),
}
_PREFLIGHT: Final = {
    "Access-Control-Allow-Methods": "POST, HEAD, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": ", ".join(_ALLOWED),
    "Access-Control-Max-Age": "86400",
}


def create_upload_app(store: UploadStore, api: ApiContext) -> web.Application:
    """Mount with ``app.add_subapp(UPLOADS_PATH, create_upload_app(store, api))``; the store is
    started and closed with the application."""
    app = web.Application(middlewares=[_tus_answers, error_middleware, _tus_version])
    app[CONTEXT] = api
    app[STORE] = store
    for path in ("", "/{upload_id}"):
        app.router.add_route(hdrs.METH_OPTIONS, path, _discovery)
    app.router.add_post("", _create)
    app.router.add_route(hdrs.METH_HEAD, "/{upload_id}", _head)
    app.router.add_patch("/{upload_id}", _patch)
    app.router.add_delete("/{upload_id}", _terminate)
    app.router.add_post("/{upload_id}", _overridden)
    app.cleanup_ctx.append(_store_running)
    return app


async def _store_running(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    store.start()
    yield
    await store.close()


@web.middleware
async def _tus_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer, errors included, speaks tus, may be read by a page on another origin, and is
    never cached (offsets change)."""
    response = await handler(request)
    response.headers.update(_CORS)
    response.headers[TUS_RESUMABLE] = TUS_VERSION
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    if response.status == protocol.CHECKSUM_MISMATCH:
        response.set_status(response.status, "Checksum Mismatch")
    if request.body_exists and not request.content.is_eof():
        response.force_close()  # a refused body is not read to its end just to keep the connection
    return response


@web.middleware
async def _tus_version(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method != hdrs.METH_OPTIONS and request.headers.get(TUS_RESUMABLE) != TUS_VERSION:
        raise ApiError(
            412,
            "unsupported_version",
            f"send {TUS_RESUMABLE}: {TUS_VERSION}, the version this server speaks",
            headers={"Tus-Version": TUS_VERSION},
        )
    return await handler(request)


async def _discovery(request: web.Request) -> web.Response:
    headers = {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(request.app[STORE].settings.max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        **_PREFLIGHT,
    }
    return web.Response(status=204, headers=headers)


async def _create(request: web.Request) -> web.Response:
    store, api = request.app[STORE], context(request)
    await api.rate_limits.hit(api.rate_limits.write, "write", rate_limit_identity(request))
    channel = await own_channel(request, "uploads")
    principal = require_user(request)
    for name in protocol.UNSUPPORTED:
        if name in request.headers:
            raise ApiError(400, "unsupported_extension", f"{name}: this server needs Upload-Length up front")
    length = protocol.required_size(request.headers, UPLOAD_LENGTH)
    limit = store.settings.max_size
    if length > limit:
        raise ApiError(413, "upload_too_large", f"uploads may be {limit} bytes at most",
                       headers={"Tus-Max-Size": str(limit)})
    if length == 0:
        raise ApiError(400, "empty_upload", "an empty file is not a video")
    metadata = protocol.parse_metadata(request.headers)
    fields = video_fields(metadata)
    checksum = None
    if request.body_exists:  # creation-with-upload: checked in full before anything is made
        _require_offset_stream(request)
        checksum = protocol.parse_checksum(request.headers)
        if request.content_length is not None and request.content_length > length:
            raise protocol.past_length(length)
    upload = await store.create(principal.user_id, channel.id, length, metadata, fields)
    location = f"{api.public_urls().http}{UPLOADS_PATH}/{upload.id}"
    headers = {hdrs.LOCATION: location, VIDEO_ID: upload.video_public_id}
    if request.body_exists:
        try:
            upload = await store.receive(
                upload.id, 0, request.content, declared=request.content_length, checksum=checksum
            )
        except ApiError as exc:  # the upload exists all the same: say where, to resume it
            exc.headers.update(headers)
            raise
        headers[UPLOAD_OFFSET] = str(upload.offset)
    return web.Response(status=201, headers={**headers, **_expiry(upload)})


async def _head(request: web.Request) -> web.Response:
    upload = await _own_upload(request)
    headers = {
        UPLOAD_OFFSET: str(upload.offset),
        UPLOAD_LENGTH: str(upload.length),
        VIDEO_ID: upload.video_public_id,
        **_expiry(upload),
    }
    if upload.metadata:
        headers[UPLOAD_METADATA] = protocol.encode_metadata(upload.metadata)
    return web.Response(status=200, headers=headers)


async def _patch(request: web.Request) -> web.Response:
    upload = await _own_upload(request)
    _require_offset_stream(request)
    offset = protocol.required_size(request.headers, UPLOAD_OFFSET)
    checksum = protocol.parse_checksum(request.headers)
    upload = await request.app[STORE].receive(
        upload.id, offset, request.content, declared=request.content_length, checksum=checksum
    )
    return web.Response(status=204, headers={UPLOAD_OFFSET: str(upload.offset), **_expiry(upload)})


async def _terminate(request: web.Request) -> web.Response:
    api = context(request)
    await api.rate_limits.hit(api.rate_limits.write, "write", rate_limit_identity(request))
    upload = await _own_upload(request, expired_ok=True)
    await request.app[STORE].terminate(upload)
    return web.Response(status=204)


_OVERRIDES: Final = {hdrs.METH_PATCH: _patch, hdrs.METH_DELETE: _terminate, hdrs.METH_HEAD: _head}


async def _overridden(request: web.Request) -> web.Response:
    """tus: a client that cannot send PATCH or DELETE POSTs with the method in a header."""
    handler = _OVERRIDES.get(request.headers.get(METHOD_OVERRIDE, "").upper())
    if handler is None:
        allowed = ", ".join(sorted({hdrs.METH_OPTIONS, hdrs.METH_POST, *_OVERRIDES}))
        detail = f"POST here needs {METHOD_OVERRIDE}: PATCH, DELETE or HEAD"
        raise ApiError(405, "method_not_allowed", detail, headers={hdrs.ALLOW: allowed})
    return await handler(request)


async def _own_upload(request: web.Request, *, expired_ok: bool = False) -> Upload:
    """The upload, if the caller made it (or is an admin): 401 anonymous, 404 unknown or someone
    else's, 410 expired."""
    require_user(request)
    upload_id = request.match_info["upload_id"]
    upload = await request.app[STORE].get(upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
    if upload is None:
        raise not_found("upload")
    require_manager(request, upload.owner_id, hidden=True, what="upload")
    if upload.expired and not expired_ok:
        raise protocol.expired()
    return upload


def _require_offset_stream(request: web.Request) -> None:
    """The body is the file's bytes as they are: offsets count them. aiohttp would inflate a
    compressed body on the fly, which no tus client sends and which only invites bombs."""
    if request.content_type != OFFSET_OCTET_STREAM:
        raise ApiError(415, "unsupported_media_type", f"send the bytes as {OFFSET_OCTET_STREAM}",
                       headers={"Accept-Patch": OFFSET_OCTET_STREAM})
    if request.headers.get(hdrs.CONTENT_ENCODING, "identity").lower() != "identity":
        raise ApiError(415, "unsupported_content_encoding", "send the bytes uncompressed",
                       headers={"Accept-Encoding": "identity"})


def _expiry(upload: Upload) -> dict[str, str]:
    return {} if upload.complete else {UPLOAD_EXPIRES: protocol.http_date(upload.expires_at)}

