"""Short-lived access tokens: JWT (PyJWT, HS256) with claims ``sub``, ``role``, ``iat``, ``exp``, ``jti``.

They are checked without a database round trip, so they cannot be revoked: that is why they live
minutes (settings.api.access_token_ttl) while the revocable refresh token carries the session. A
role change or a disabled account therefore takes effect at the next refresh.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from catalog.access import Principal, Role
from catalog.derived_keys import ACCESS_TOKENS, derive_key

ALGORITHM = "HS256"
_REQUIRED = ["sub", "role", "iat", "exp", "jti"]


class InvalidAccessToken(Exception):
    def __init__(self, detail: str, *, expired: bool = False) -> None:
        super().__init__(detail)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str
    expires_in: int


class AccessTokens:
    def __init__(self, key: bytes, ttl_seconds: float) -> None:
        self._key = key
        self._ttl = int(ttl_seconds)

    @classmethod
    def of_secret(cls, secret_key: bytes, ttl_seconds: float) -> AccessTokens:
        """The tokens every node of a cluster issues and accepts: keyed from the shared secret."""
        return cls(derive_key(secret_key, ACCESS_TOKENS), ttl_seconds)

    def issue(self, principal: Principal, *, now: float | None = None) -> IssuedAccessToken:
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": str(principal.user_id),
            "role": principal.role.value,
            "iat": issued,
            "exp": issued + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        return IssuedAccessToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), self._ttl)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": _REQUIRED}
            )
        except jwt.ExpiredSignatureError:
            raise InvalidAccessToken("the access token has expired", expired=True) from None
        except jwt.InvalidTokenError:
            raise InvalidAccessToken("the access token is not valid") from None
        try:
            return Principal(int(claims["sub"]), Role(claims["role"]))
        except (TypeError, ValueError):
            raise InvalidAccessToken("the access token is not valid") from None
