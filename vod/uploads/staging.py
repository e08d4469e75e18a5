"""Where an unfinished upload's bytes wait: one file per upload on this node's disk.

The rule that makes an offset durable: bytes are written and fsynced here *before* the offset in
PostgreSQL moves past them, so the recorded offset is never ahead of the file. A crash between
the two leaves the file longer than the offset; the next write truncates it back, so bytes no
offset vouches for are never kept.

The methods here block (they are file system calls): callers run them with :func:`in_thread`.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from catalog.uploads import UPLOAD_ID_PATTERN
from vod.storage.local import fsync_directory
from vod.uploads.protocol import Checksum

T = TypeVar("T")

_UPLOAD_ID = re.compile(UPLOAD_ID_PATTERN)


class StagedBytesLost(Exception):
    """The staged file is shorter than the recorded offset: this node does not have the bytes
    (its staging directory was wiped, or the upload was received by another node)."""


async def in_thread(func: Callable[..., T], *args: object) -> T:
    """Run blocking file work in a worker thread, and wait for it to end even when cancelled
    meanwhile: the caller truncates or closes the file next, which must not race a write still
    running in the thread. The cancellation is raised once the thread is done."""
    future = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


class StagedWrite:
    """One request body being appended to an upload's staged file from ``start`` on, with the
    running digest of what it wrote when the request announced a checksum."""

    def __init__(self, file: BinaryIO, start: int, checksum: Checksum | None) -> None:
        self._file = file
        self.start = start
        self.size = 0
        self._hasher = checksum.hasher() if checksum else None

    def write(self, data: bytes) -> None:
        self._file.write(data)
        if self._hasher is not None:
            self._hasher.update(data)  # here, in the worker thread: hashlib releases the GIL
        self.size += len(data)

    def digest(self) -> bytes:
        assert self._hasher is not None
        return self._hasher.digest()

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def discard(self) -> None:
        """Forget this body: the file ends where it started."""
        self._file.flush()
        self._file.truncate(self.start)
        self._file.seek(self.start)
        self.size = 0

    def close(self) -> None:
        self._file.close()


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise ValueError(f"not an upload id: {upload_id[:40]!r}")
        return self.root / upload_id

    def open(self, upload_id: str, offset: int, checksum: Checksum | None) -> StagedWrite:
        """Open the upload's file for a body starting at ``offset`` (created by the first body),
        cutting off whatever a crash left past it."""
        path = self.path(upload_id)
        self.root.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        try:  # only the first body may create the file: later ones need the bytes before them
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if offset == 0 else 0), 0o600)
        except FileNotFoundError:
            raise StagedBytesLost(upload_id) from None
        file = open(fd, "r+b")  # closed by StagedWrite
        try:
            if not existed:
                fsync_directory(self.root)  # the new name must survive a crash as its bytes will
            if os.fstat(file.fileno()).st_size < offset:
                raise StagedBytesLost(upload_id)
            file.truncate(offset)
            file.seek(offset)
        except BaseException:
            file.close()
            raise
        return StagedWrite(file, offset, checksum)

    def has(self, upload_id: str) -> bool:
        return self.path(upload_id).is_file()

    def delete(self, upload_id: str) -> None:
        self.path(upload_id).unlink(missing_ok=True)

    def ids(self) -> list[str]:
        """The uploads staged here (anything else in the directory is not ours to touch)."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return [name for name in names if _UPLOAD_ID.fullmatch(name)]
