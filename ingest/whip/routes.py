"""WHIP over HTTP (RFC 9725): the endpoint, the session resources, CORS.

* ``POST /whip`` (the key alone selects the stream: what OBS's WHIP output needs, a server
  URL and a bearer token) or ``POST /whip/{stream}`` (the URL the API hands out; a key of
  another stream is refused like a wrong one). ``Content-Type: application/sdp``,
  ``Authorization: Bearer <stream key>``; answers ``201 Created`` with the SDP answer, a
  ``Location`` (``/whip/sessions/{id}``, relative) and a strong ``ETag``.
* ``DELETE /whip/sessions/{id}`` ends the publish (200).
* ``PATCH /whip/sessions/{id}`` with ``application/trickle-ice-sdpfrag`` and ``If-Match``:
  trickle ICE (204). ICE restarts are not supported: aiortc cannot restart ICE on a live
  connection, so a fragment with new credentials gets 422 (the RFC's answer when one of the
  two is supported) and the client can DELETE and publish again.
* ``OPTIONS`` on both answers CORS preflights; every answer carries
  ``Access-Control-Allow-Origin: *`` (credentials are bearer tokens, never cookies) and exposes
  ``Location``/``ETag``/``Link``, so a page on another origin can publish. Other methods get
  aiohttp's 405 with ``Allow``.

Errors are ``text/plain`` sentences: 400 malformed offer or fragment, 401 (with
``WWW-Authenticate: Bearer``) missing or wrong key, 404 unknown session, 406 more tracks than
one audio and one video, 409 stream already being published, 412/428 ``If-Match`` wrong or
missing, 413 body over ``whip.max_sdp_size``, 415 wrong content type, 422 ICE restart, 503
node full (with ``Retry-After``) or stopping.
"""

from __future__ import annotations

import hmac
from typing import Final

from aiohttp import web

from catalog.live_streams import STREAM_NAME
from ingest.whip.server import WhipError, WhipServer, key_digest
from ingest.whip.session import WhipSession
from ingest.whip.trickle import FragmentError, parse_fragment

SDP: Final = "application/sdp"
SDP_FRAGMENT: Final = "application/trickle-ice-sdpfrag"
SESSIONS: Final = "/whip/sessions"
_MAX_TOKEN: Final = 512
_CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}
_CORS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch, Retry-After",
}
_PREFLIGHT: Final = {
    **_CORS,
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Max-Age": "86400",
}


def add_whip_routes(app: web.Application, server: WhipServer) -> None:
    limit = server.settings.max_sdp_size

    async def publish(request: web.Request) -> web.Response:
        try:
            if request.content_type != SDP:
                raise WhipError(415, f"send the offer as {SDP}", {"Accept-Post": SDP})
            key = _bearer(request)
            stream = request.match_info.get("stream")
            if stream is not None and not STREAM_NAME.match(stream):
                raise WhipError(404, "no such stream")
            body = await _read_body(request, limit)
            session, answer = await server.publish(key, stream, body, request.remote or "unknown")
        except WhipError as exc:
            return _error(exc)
        headers = {
            **_CORS,
            "Location": f"{SESSIONS}/{session.id}",
            "ETag": session.etag,
            "Accept-Patch": SDP_FRAGMENT,
        }
        return web.Response(status=201, body=answer.encode(), content_type=SDP, headers=headers)

    async def end(request: web.Request) -> web.Response:
        try:
            session = _session(request, server)
        except WhipError as exc:
            return _error(exc)
        await session.close("ended by the client")
        return web.Response(status=200, headers=_CORS)

    async def trickle(request: web.Request) -> web.Response:
        try:
            session = _session(request, server)
            if request.content_type != SDP_FRAGMENT:
                raise WhipError(415, f"send ICE candidates as {SDP_FRAGMENT}", {"Accept-Patch": SDP_FRAGMENT})
            _check_if_match(request, session)
            try:
                fragment = parse_fragment(await _read_body(request, limit))
            except FragmentError as exc:
                raise WhipError(400, str(exc)) from None
            if session.is_ice_restart(fragment):
                raise WhipError(422, "ICE restarts are not supported: DELETE the session and publish again")
            await session.add_candidates(fragment)
        except WhipError as exc:
            return _error(exc)
        return web.Response(status=204, headers=_CORS)

    async def endpoint_options(request: web.Request) -> web.Response:
        headers = {**_PREFLIGHT, "Access-Control-Allow-Methods": "POST, OPTIONS", "Accept-Post": SDP}
        return web.Response(status=200, headers=headers)

    async def session_options(request: web.Request) -> web.Response:
        headers = {
            **_PREFLIGHT,
            "Access-Control-Allow-Methods": "PATCH, DELETE, OPTIONS",
            "Accept-Patch": SDP_FRAGMENT,
        }
        return web.Response(status=200, headers=headers)

    for path in ("/whip", "/whip/{stream}"):
        app.router.add_route("POST", path, publish)
        app.router.add_route("OPTIONS", path, endpoint_options)
    session_path = SESSIONS + "/{session}"
    app.router.add_route("DELETE", session_path, end)
    app.router.add_route("PATCH", session_path, trickle)
    app.router.add_route("OPTIONS", session_path, session_options)


def _error(exc: WhipError) -> web.Response:
    return web.Response(status=exc.status, text=exc.message + "\n", headers={**_CORS, **exc.headers})


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > _MAX_TOKEN:
        raise WhipError(401, "send the stream key as Authorization: Bearer <key>", _CHALLENGE)
    return token


def _session(request: web.Request, server: WhipServer) -> WhipSession:
    """The session named in the URL, if the caller holds its stream key."""
    session = server.session(request.match_info["session"])
    if session is None or session.ended:
        raise WhipError(404, "no such WHIP session")
    if not hmac.compare_digest(key_digest(_bearer(request)), session.key_digest):
        raise WhipError(401, "this session was published with another key", _CHALLENGE)
    return session


def _check_if_match(request: web.Request, session: WhipSession) -> None:
    """RFC 9725: trickle requests name the ICE session they belong to (RFC 9110 13.1.1)."""
    if_match = request.headers.get("If-Match")
    if if_match is None:
        raise WhipError(428, "trickle ICE requests need If-Match with the session's ETag")
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" not in tags and session.etag not in tags:
        raise WhipError(412, "If-Match does not name this ICE session")


async def _read_body(request: web.Request, limit: int) -> bytes:
    too_large = WhipError(413, f"the body is larger than {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)
