"""The storage interface every part that keeps media uses: put, get, ranged get, head, list, delete,
and whole local files in and out (uploads, transcodes).

S3-shaped on purpose (:mod:`vod.storage.s3` is one implementation): a flat namespace of
objects named by keys, whole-object writes, byte-range reads, prefix listing, idempotent
deletes. Keys are ``/``-separated names built by the server, never a path a client sent:
every segment starts with a letter or digit and uses ``[A-Za-z0-9_.-]``, so ``..``, ``.``,
empty segments, absolute keys and hidden names are impossible by construction, on any backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MAX_KEY_LENGTH = 1024
"""S3's limit, in bytes of UTF-8 (keys here are ASCII)."""

KEY_SEGMENT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
"""One ``/``-separated segment of a key (no anchors)."""

_KEY = re.compile(rf"{KEY_SEGMENT_PATTERN}(?:/{KEY_SEGMENT_PATTERN})*")


class StorageError(Exception):
    """The backend failed (disk full, permissions, network): the caller decides what it means."""


class ObjectNotFound(StorageError, LookupError):
    pass


class InvalidKey(ValueError):
    """A key that breaks the key rules: a bug in the caller, or hostile input that got too far."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int


def check_key(key: str) -> str:
    """``key`` if it follows the key rules (module docstring), else :class:`InvalidKey`."""
    if not is_key(key):
        raise InvalidKey(f"not a valid storage key: {key[:100]!r}")
    return key


def is_key(key: str) -> bool:
    """Whether ``key`` follows the key rules: for listings, which skip whatever else is there."""
    return len(key) <= MAX_KEY_LENGTH and _KEY.fullmatch(key) is not None


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty, a key, or a key followed by ``/``."""
    if prefix:
        check_key(prefix.removesuffix("/"))
    return prefix


class Storage(Protocol):
    """Objects by key. Every method may raise :class:`StorageError`; bad keys :class:`InvalidKey`."""

    async def put(self, key: str, data: bytes) -> None:
        """Create or replace the object; readers see the old bytes or the new, never a mix."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole object, or :class:`ObjectNotFound`."""
        ...

    async def put_file(self, key: str, path: Path) -> None:
        """Create or replace the object with the bytes of the local file ``path``, streamed: an
        upload of many gigabytes never sits in memory. Once this returns the object is durable,
        so the caller may delete its copy. ``path`` is left as it is; that it is missing or
        unreadable is the caller's :class:`OSError`, not a :class:`StorageError`."""
        ...

    async def get_file(self, key: str, path: Path) -> None:
        """Write the object to the local file ``path``, streamed (a transcoder needs a seekable
        file, not bytes in memory): ``path`` is replaced whole, or left as it was on failure.
        :class:`ObjectNotFound` if there is no such object; trouble writing ``path`` is the
        caller's :class:`OSError`."""
        ...

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object (clamped to its size), or :class:`ObjectNotFound`."""
        ...

    async def head(self, key: str) -> ObjectInfo:
        """The object's size without its bytes, or :class:`ObjectNotFound`."""
        ...

    async def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (:func:`check_prefix`), in key order."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error (as in S3)."""
        ...

    async def close(self) -> None:
        """Release what the backend holds open (connections); the storage is unusable after."""
        ...
