"""Signing webhook requests and checking them (standard library only, so a receiver can use it
as it is, or copy it).

The ``Tributary-Signature`` header is ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` with the MAC
taken over ``f"{t}.".encode() + raw_body`` under the shared secret, as Stripe signs. The time
is inside the MAC, so a captured request cannot be replayed later with a fresh ``t``; the
receiver refuses times outside its tolerance. Each try is signed anew (a new ``t``) over the
same body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

SIGNATURE_HEADER = "Tributary-Signature"
DEFAULT_TOLERANCE = 300
"""Seconds a signature's time may differ from the receiver's clock (either way)."""

_MAX_HEADER = 1024
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_V1 = re.compile(r"[0-9a-f]{64}")


class InvalidSignature(ValueError):
    """The request was not signed with the secret, was changed, or is too old (or the header
    is not a signature at all). Answer it 400 (or 401) and do nothing with it."""


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The ``Tributary-Signature`` value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(
    secret: str | bytes,
    header: str | None,
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> int:
    """Check a request's ``Tributary-Signature`` ``header`` against its raw ``body`` (the bytes
    as received, before any JSON parsing); returns the signed time. Raises
    :class:`InvalidSignature` unless some ``v1`` matches (compared in constant time) and the
    time is within ``tolerance`` seconds of ``now`` (default: the clock).

    Entries other than ``t`` and ``v1`` are ignored, so a later scheme can be sent alongside.
    """
    timestamp, candidates = _parse(header)
    expected = _mac(secret, timestamp, body).encode()
    # Every candidate is compared, so the time taken does not tell which one came close.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise InvalidSignature("the signature does not match the body and secret")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("the signature's time is outside the tolerance (a replay, or a clock off)")
    return timestamp


def _parse(header: str | None) -> tuple[int, list[str]]:
    if not isinstance(header, str) or not header or len(header) > _MAX_HEADER:
        raise InvalidSignature("no signature header, or one of an impossible size")
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise InvalidSignature("the signature header is not a list of key=value")
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                raise InvalidSignature("the signature header's time is not one number")
            timestamp = int(value)
        elif key == "v1":
            if not _V1.fullmatch(value):
                raise InvalidSignature("a v1 signature is not 64 hexadecimal digits")
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("the signature header lacks a time or a v1 signature")
    return timestamp, candidates


def _mac(secret: str | bytes, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
