"""``/auth/*`` and ``/me``: register, log in, refresh, log out, and who am I.

Log-in answers the same 401 whether the e-mail is unknown or the password wrong, after the same
work (an unknown account verifies a dummy hash). Register and log-in count against the ``auth``
rate limit per client address, log-in also per account.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r201, r204
from pydantic import EmailStr, StringConstraints, model_validator

from catalog.access import Principal, Role
from catalog.accounts import AccountExists, Accounts, NewChannel, User
from catalog.api.auth import require_user
from catalog.api.channels import ChannelOut, channel_store
from catalog.api.context import context
from catalog.api.errors import ApiError, conflict, unauthorized
from catalog.api.fields import Handle, Password, Username, line
from catalog.api.rate_limits import account_key, client_address
from catalog.api.views import ApiModel, ApiView, respond
from catalog.channels import HandleTaken
from catalog.refresh_tokens import MAX_TOKEN_LENGTH, RefreshRejected, RefreshTokens, Rejection

DisplayName = Annotated[str, line(100)]
RefreshToken = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TOKEN_LENGTH)]
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RegisterIn(ApiModel):
    email: EmailStr
    username: Username
    display_name: DisplayName
    password: Password
    creator: bool = False
    channel_handle: Handle | None = None

    @model_validator(mode="after")
    def _handle_needs_creator(self) -> RegisterIn:
        if self.channel_handle is not None and not self.creator:
            raise ValueError("channel_handle is for creators: set creator to true")
        return self


class LoginIn(ApiModel):
    email: EmailStr
    password: LoginPassword


class RefreshIn(ApiModel):
    refresh_token: RefreshToken


class TokensOut(ApiModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class UserOut(ApiModel):
    username: str
    display_name: str
    email: str
    role: Role
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            created_at=user.created_at,
        )


class MeOut(ApiModel):
    user: UserOut
    channel: ChannelOut | None


class RegisteredOut(MeOut):
    tokens: TokensOut


_REFUSED_REFRESH = {
    Rejection.UNKNOWN: "the refresh token is not valid",
    Rejection.EXPIRED: "the refresh token has expired; log in again",
    Rejection.REVOKED: "the refresh token was revoked; log in again",
    Rejection.REUSED: "the refresh token was already used; the session is revoked, log in again",
}


def _accounts(request: web.Request) -> Accounts:
    return Accounts(context(request).pool)


def _refresh_tokens(request: web.Request) -> RefreshTokens:
    ctx = context(request)
    return RefreshTokens(ctx.pool, timedelta(seconds=ctx.settings.refresh_token_ttl))


def _tokens(request: web.Request, principal: Principal, refresh_token: str) -> TokensOut:
    ctx = context(request)
    access = ctx.access_tokens.issue(principal)
    return TokensOut(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        refresh_expires_in=int(ctx.settings.refresh_token_ttl),
    )


async def _log_in(request: web.Request, user: User) -> TokensOut:
    refresh = await _refresh_tokens(request).issue(user.id)
    return _tokens(request, Principal(user.id, user.role), refresh)


class RegisterView(ApiView):
    async def post(self, account: RegisterIn) -> r201[RegisteredOut]:
        """Create an account and log in. ``creator: true`` also creates a channel (handle: the
        user name unless ``channel_handle`` is given).

        Tags: accounts
        """
        ctx = self.ctx
        await ctx.rate_limits.hit(ctx.rate_limits.auth, "register", client_address(self.request))
        channel = None
        if account.creator:
            channel = NewChannel(account.channel_handle or account.username, account.display_name)
        try:
            user, made = await _accounts(self.request).create(
                email=account.email,
                username=account.username,
                display_name=account.display_name,
                password_hash=await ctx.passwords.hash(account.password),
                role=Role.CREATOR if account.creator else Role.VIEWER,
                channel=channel,
            )
        except AccountExists as exc:
            raise conflict("account_exists", str(exc)) from None
        except HandleTaken as exc:
            raise conflict("handle_taken", str(exc)) from None
        registered = RegisteredOut(
            user=UserOut.of(user),
            channel=ChannelOut.of(made) if made else None,
            tokens=await _log_in(self.request, user),
        )
        return respond(registered, 201)


class LoginView(ApiView):
    async def post(self, credentials: LoginIn) -> r200[TokensOut]:
        """Exchange e-mail and password for an access token and a refresh token.

        Tags: accounts
        """
        ctx = self.ctx
        limits = ctx.rate_limits
        await limits.hit(limits.auth, "login", "ip", client_address(self.request))
        await limits.hit(limits.auth, "login", "account", account_key(credentials.email))
        accounts = _accounts(self.request)
        found = await accounts.credentials(credentials.email)
        stored_hash = found.password_hash if found else None
        if not await ctx.passwords.verify(stored_hash, credentials.password):
            raise unauthorized("invalid_credentials", "the e-mail address or the password is wrong")
        assert found is not None and stored_hash is not None
        if found.user.disabled_at is not None:
            raise ApiError(403, "account_disabled", "this account is disabled")
        if ctx.passwords.needs_rehash(stored_hash):
            await accounts.set_password_hash(found.user.id, await ctx.passwords.hash(credentials.password))
        return respond(await _log_in(self.request, found.user))


class RefreshView(ApiView):
    async def post(self, body: RefreshIn) -> r200[TokensOut]:
        """Exchange a refresh token for new tokens. The presented refresh token is used up:
        presenting it again revokes the whole session.

        Tags: accounts
        """
        try:
            rotated = await _refresh_tokens(self.request).rotate(body.refresh_token)
        except RefreshRejected as exc:
            raise unauthorized("invalid_refresh_token", _REFUSED_REFRESH[exc.reason]) from None
        principal = Principal(rotated.user_id, rotated.role)
        return respond(_tokens(self.request, principal, rotated.token))


class LogoutView(ApiView):
    async def post(self, body: RefreshIn) -> r204:
        """End the session the refresh token belongs to (its access tokens lapse within
        minutes). Unknown tokens are accepted silently.

        Tags: accounts
        """
        await _refresh_tokens(self.request).revoke_family(body.refresh_token)
        return web.Response(status=204)


class MeView(ApiView):
    async def get(self) -> r200[MeOut]:
        """The calling account and its channel.

        Tags: accounts
        Security: bearer
        """
        principal = require_user(self.request)
        user = await _accounts(self.request).get(principal.user_id)
        if user is None:  # deleted since the token was issued
            raise unauthorized("invalid_token", "the account no longer exists")
        channel = await channel_store(self.request).by_owner(user.id)
        return respond(MeOut(user=UserOut.of(user), channel=ChannelOut.of(channel) if channel else None))


def add_routes(api: web.Application) -> None:
    api.router.add_view("/auth/register", RegisterView)
    api.router.add_view("/auth/login", LoginView)
    api.router.add_view("/auth/refresh", RefreshView)
    api.router.add_view("/auth/logout", LogoutView)
    api.router.add_view("/me", MeView)
