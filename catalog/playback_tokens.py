"""Signed, expiring playback tokens that an edge verifies with no database (standard library only).

Format (ASCII, URL-safe, no padding)::

    v1.<b64url(video public id)>.<expiry, unix seconds>.<b64url(viewer id) or empty>.<b64url(mac)>

    mac = HMAC-SHA256(playback key, "v1.<b64url(video)>.<expiry>.<b64url(viewer)>")

The MAC covers the first four fields exactly as transmitted (base64url has no dots, so the
string is unambiguous). The playback key is ``derive_key(secret_key, PLAYBACK_TOKENS)``
(:mod:`catalog.derived_keys`). A token binds one video; a viewer-bound token is valid only when
the verifier presents the same viewer id (an account id or a session id), so a shared link does
not play for someone else. Verification checks the MAC first (constant-time), then the version,
video, viewer and expiry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

VERSION = "v1"
_EXPIRY = re.compile(r"^[0-9]{1,12}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")
MAX_TOKEN_LENGTH = 512


class InvalidPlaybackToken(ValueError):
    """Why a token was refused (the message is for logs, not for viewers)."""


@dataclass(frozen=True, slots=True)
class PlaybackGrant:
    video_id: str
    expires_at: int
    viewer_id: str | None


def _b64encode(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode("ascii")


def _b64decode(field: str) -> str:
    padded = field + "=" * (-len(field) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii")).decode()


def _mac(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(key: bytes, video_id: str, expires_at: int, viewer_id: str | None = None) -> str:
    payload = ".".join(
        (VERSION, _b64encode(video_id), str(int(expires_at)), _b64encode(viewer_id or ""))
    )
    return f"{payload}.{_mac(key, payload)}"


def verify(
    key: bytes,
    token: str,
    video_id: str,
    viewer_id: str | None = None,
    *,
    now: float | None = None,
) -> PlaybackGrant:
    """The grant ``token`` carries for ``video_id`` (and ``viewer_id``), or InvalidPlaybackToken."""
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidPlaybackToken("malformed token")
    payload, _, mac = token.rpartition(".")
    if not hmac.compare_digest(_mac(key, payload), mac):
        raise InvalidPlaybackToken("bad signature")
    fields = payload.split(".")
    if (
        len(fields) != 4
        or fields[0] != VERSION
        or not _EXPIRY.match(fields[2])
        or not (_BASE64URL.match(fields[1]) and _BASE64URL.match(fields[3]))
    ):
        raise InvalidPlaybackToken("malformed token")
    try:
        bound_video, bound_viewer = _b64decode(fields[1]), _b64decode(fields[3])
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidPlaybackToken("malformed token") from None
    if bound_video != video_id:
        raise InvalidPlaybackToken("token is for another video")
    if bound_viewer and bound_viewer != viewer_id:
        raise InvalidPlaybackToken("token is for another viewer")
    expires_at = int(fields[2])
    if (time.time() if now is None else now) >= expires_at:
        raise InvalidPlaybackToken("token has expired")
    return PlaybackGrant(bound_video, expires_at, bound_viewer or None)
