"""The tus 1.0.0 wire format (https://tus.io/protocols/resumable-upload), written by hand.

No maintained tus server exists for aiohttp (the Python ones target WSGI, Flask, Django or
FastAPI, and several are abandoned), so the core protocol and the extensions this server offers
are implemented here and in :mod:`vod.uploads.routes` from the specification. This module holds
the names, the numbers and the header grammar.

Every header value a client sends is checked against its grammar before anything uses it:
sizes are ASCII digits only (``str.isdigit`` would take "٣") and fit a PostgreSQL bigint, a
header that must appear once appears once, metadata keys are visible ASCII, values strict
Base64 of UTF-8 text PostgreSQL can store (no NUL). Anything else is a 400 naming the header;
values are never echoed back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Final

from multidict import CIMultiDictProxy

from catalog.api.errors import ApiError

TUS_VERSION: Final = "1.0.0"
EXTENSIONS: Final = ("creation", "creation-with-upload", "termination", "checksum", "expiration")
OFFSET_OCTET_STREAM: Final = "application/offset+octet-stream"
CHECKSUM_MISMATCH: Final = 460
"""tus's own status for a body whose checksum is not the one announced."""

TUS_RESUMABLE: Final = "Tus-Resumable"
UPLOAD_LENGTH: Final = "Upload-Length"
UPLOAD_OFFSET: Final = "Upload-Offset"
UPLOAD_METADATA: Final = "Upload-Metadata"
UPLOAD_CHECKSUM: Final = "Upload-Checksum"
UPLOAD_EXPIRES: Final = "Upload-Expires"
METHOD_OVERRIDE: Final = "X-HTTP-Method-Override"
UNSUPPORTED: Final = ("Upload-Defer-Length", "Upload-Concat")
"""Headers of extensions this server does not offer (creation-defer-length, concatenation)."""

CHECKSUM_ALGORITHMS: Final = ("sha1", "md5", "sha256")

_SIZE = re.compile(r"[0-9]{1,19}")
_MAX_SIZE = 2**63 - 1  # PostgreSQL bigint
_METADATA_KEY = re.compile(r"[\x21-\x2b\x2d-\x7e]{1,64}")  # visible ASCII but the comma
MAX_METADATA_PAIRS: Final = 32


def invalid_header(name: str, expected: str) -> ApiError:
    return ApiError(400, "invalid_header", f"{name} must be {expected}")


def offset_conflict(current: int) -> ApiError:
    return ApiError(
        409,
        "offset_mismatch",
        f"the upload is at offset {current}: resume from there",
        headers={UPLOAD_OFFSET: str(current)},
    )


def locked() -> ApiError:
    """A second writer while one is receiving: tus clients retry 423 (and 409) by themselves."""
    return ApiError(423, "upload_locked", "another request is writing to this upload; retry when it ends")


def past_length(room: int) -> ApiError:
    return ApiError(413, "past_upload_length", f"the body is longer than the {room} bytes the upload lacks")


def checksum_mismatch(algorithm: str) -> ApiError:
    detail = f"the body's {algorithm} is not the one in {UPLOAD_CHECKSUM}; none of it was kept"
    return ApiError(CHECKSUM_MISMATCH, "checksum_mismatch", detail)


def expired() -> ApiError:
    return ApiError(410, "upload_expired", "the upload expired unfinished; start a new one")


def single(headers: CIMultiDictProxy[str], name: str) -> str | None:
    """A header that may appear at most once: two disagreeing copies would make the request mean
    two things, so any repetition is refused."""
    values = headers.getall(name, [])
    if len(values) > 1:
        raise invalid_header(name, "sent once")
    return values[0] if values else None


def size(headers: CIMultiDictProxy[str], name: str) -> int | None:
    """``Upload-Length``/``Upload-Offset``: a non-negative integer, or None when absent."""
    value = single(headers, name)
    if value is None:
        return None
    if not _SIZE.fullmatch(value) or int(value) > _MAX_SIZE:
        raise invalid_header(name, f"a whole number of bytes from 0 to {_MAX_SIZE}")
    return int(value)


def required_size(headers: CIMultiDictProxy[str], name: str) -> int:
    value = size(headers, name)
    if value is None:
        raise ApiError(400, "missing_header", f"this request needs the {name} header")
    return value


def parse_metadata(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """``Upload-Metadata``: ``key base64,key base64,…`` (a key alone has an empty value), decoded.

    The spec allows any bytes in a value; this server keeps metadata as text, so a value must
    decode to UTF-8 without NUL (which PostgreSQL cannot store in ``jsonb``).
    """
    value = single(headers, UPLOAD_METADATA)
    if value is None or not value.strip():
        return {}
    pairs: dict[str, str] = {}
    for item in value.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not _METADATA_KEY.fullmatch(key):
            raise invalid_header(UPLOAD_METADATA, "comma-separated 'key base64' pairs, keys of visible ASCII")
        if key in pairs:
            raise invalid_header(UPLOAD_METADATA, "pairs with distinct keys")
        try:
            text = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise invalid_header(UPLOAD_METADATA, "pairs whose values are Base64 of UTF-8 text") from None
        if "\x00" in text:
            raise invalid_header(UPLOAD_METADATA, "pairs whose values contain no NUL characters")
        pairs[key] = text
        if len(pairs) > MAX_METADATA_PAIRS:
            raise invalid_header(UPLOAD_METADATA, f"at most {MAX_METADATA_PAIRS} pairs")
    return pairs


def encode_metadata(metadata: Mapping[str, str]) -> str:
    """The ``Upload-Metadata`` a HEAD answers with: the pairs the client sent."""
    return ",".join(
        f"{key} {base64.b64encode(text.encode()).decode()}" if text else key for key, text in metadata.items()
    )


@dataclass(frozen=True, slots=True)
class Checksum:
    """An ``Upload-Checksum``: the digest one request body must have."""

    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        # usedforsecurity=False: MD5 and SHA-1 check integrity here, and FIPS builds refuse them otherwise.
        return hashlib.new(self.algorithm, usedforsecurity=False)

    def matches(self, digest: bytes) -> bool:
        return hmac.compare_digest(digest, self.digest)


def parse_checksum(headers: CIMultiDictProxy[str]) -> Checksum | None:
    value = single(headers, UPLOAD_CHECKSUM)
    if value is None:
        return None
    algorithm, _, encoded = value.partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        supported = ", ".join(CHECKSUM_ALGORITHMS)
        raise ApiError(400, "unsupported_checksum_algorithm", f"{UPLOAD_CHECKSUM} algorithms: {supported}")
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != hashlib.new(algorithm, usedforsecurity=False).digest_size:
        raise invalid_header(UPLOAD_CHECKSUM, f"'{algorithm} <Base64 of the {algorithm} digest>'")
    return Checksum(algorithm, digest)


def http_date(moment: datetime) -> str:
    """RFC 9110's date format, as ``Upload-Expires`` must be."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
