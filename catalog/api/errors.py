"""Every API failure is ``{"error": "<short_code>", "detail": ...}`` with a 4xx status (or 500).

Handlers raise :class:`ApiError` (or one of the helpers below); :func:`error_middleware` turns
it, aiohttp's own HTTP exceptions (unknown route, wrong method) and anything unexpected into that
shape. An unexpected exception is logged with its traceback and answered 500 without detail:
it is a bug, and the client learns nothing about the server's insides from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

log = structlog.get_logger(__name__)


class ErrorBody(BaseModel):
    error: str
    detail: str | list[dict[str, Any]]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str | list[dict[str, Any]],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        body = ErrorBody(error=self.code, detail=self.detail)
        return web.json_response(text=body.model_dump_json(), status=self.status, headers=self.headers)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, "forbidden", detail)


def conflict(code: str, detail: str) -> ApiError:
    return ApiError(409, code, detail)


def unauthorized(code: str, detail: str) -> ApiError:
    """401 with the RFC 6750 challenge, so clients know to (re)authenticate with a bearer token."""
    challenge = 'Bearer realm="tributary"'
    if code != "authentication_required":
        challenge += ', error="invalid_token"'
    return ApiError(401, code, detail, headers={hdrs.WWW_AUTHENTICATE: challenge})


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the request body exceeds {limit} bytes")


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> ApiError:
    """aiohttp's own answers (routing, methods) in the API's shape."""
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        detail = f"{request.method} is not allowed here; allowed: {allowed}"
        return ApiError(405, "method_not_allowed", detail, headers={hdrs.ALLOW: allowed})
    if isinstance(exc, web.HTTPNotFound):
        return ApiError(404, "not_found", f"no such endpoint: {request.path}")
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return ApiError(413, "body_too_large", "the request body is too large")
    code = HTTPStatus(exc.status).phrase.lower().replace(" ", "_").replace("-", "_")
    return ApiError(exc.status, code, exc.reason)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(exc, request).response()
    except Exception:
        log.exception("api.unexpected_error", method=request.method, path=request.path)
        return ApiError(500, "internal_error", "an unexpected error occurred; it has been logged").response()
