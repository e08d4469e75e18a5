"""One secret, one key per purpose (standard library only: an edge imports it too).

Access tokens and playback tokens are signed with different keys derived from the node's secret
(HMAC-SHA256 as a KDF over a purpose label), so a component that must verify playback tokens (an
edge) can be given only the playback key, which cannot mint access tokens.
"""

from __future__ import annotations

import hashlib
import hmac

ACCESS_TOKENS = "access-token/v1"
PLAYBACK_TOKENS = "playback-token/v1"


def derive_key(secret_key: bytes, purpose: str) -> bytes:
    return hmac.new(secret_key, b"tributary/" + purpose.encode(), hashlib.sha256).digest()
