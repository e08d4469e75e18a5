"""Authorization helpers every route module uses: who is calling, and may they do this.

- :func:`optional_user` — the caller, or None when anonymous (a bad token is still a 401: a
  client that sent one wants to know it failed rather than silently see less).
- :func:`require_user` — 401 unless authenticated.
- :func:`require_role` — 403 unless the caller has one of the roles.
- :func:`require_manager` — the owner of a thing, or an admin. For things the caller may see
  anyway (a channel) the refusal is 403; for things only managers may see (a stream's keys,
  a private video) pass ``hidden=True`` and it is 404, so existence does not leak.
"""

from __future__ import annotations

from aiohttp import hdrs, web

from catalog.access import Principal, Role, may_manage
from catalog.access_tokens import InvalidAccessToken
from catalog.api.context import context
from catalog.api.errors import ApiError, forbidden, not_found, unauthorized
from catalog.api.rate_limits import client_address

_PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("tributary_principal")
_BEARER = "bearer "


def _bearer_token(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        return None
    if header[: len(_BEARER)].lower() != _BEARER:
        raise unauthorized("invalid_token", "the Authorization header must be 'Bearer <token>'")
    return header[len(_BEARER) :].strip()


def optional_user(request: web.Request) -> Principal | None:
    if _PRINCIPAL not in request:
        token = _bearer_token(request)
        principal = None
        if token is not None:
            try:
                principal = context(request).access_tokens.verify(token)
            except InvalidAccessToken as exc:
                code = "token_expired" if exc.expired else "invalid_token"
                raise unauthorized(code, str(exc)) from None
        request[_PRINCIPAL] = principal
    return request[_PRINCIPAL]


def require_user(request: web.Request) -> Principal:
    principal = optional_user(request)
    if principal is None:
        raise unauthorized(
            "authentication_required", "log in and send 'Authorization: Bearer <access token>'"
        )
    return principal


def require_role(request: web.Request, *roles: Role) -> Principal:
    principal = require_user(request)
    if principal.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise forbidden(f"this needs one of the roles: {allowed}")
    return principal


def require_manager(
    request: web.Request, owner_id: int | None, *, hidden: bool, what: str
) -> Principal:
    """The caller owns ``what`` (``owner_id``) or is an admin; else 404 if ``hidden``, 403 if not."""
    principal = require_user(request)
    if not may_manage(principal, owner_id):
        raise not_found(what) if hidden else forbidden(f"only the owner of this {what} may do this")
    return principal


def rate_limit_identity(request: web.Request) -> str:
    """Whom a write counts against: the user if the token is good, else the client address."""
    try:
        principal = optional_user(request)
    except ApiError:
        principal = None
    return f"user:{principal.user_id}" if principal else f"ip:{client_address(request)}"
