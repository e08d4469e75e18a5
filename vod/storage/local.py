"""Storage on the local disk: one file per object under a root directory.

Every filesystem call runs in a worker thread (``asyncio.to_thread``): a slow or busy disk must
never stall the event loop that serves live media. Writes go to a hidden temporary file that is
renamed over the object, so a reader (or a crash) never sees half an object; hidden names are
not valid keys, so listings skip leftovers of an interrupted write. Whole files (an upload going
in, a source going out to a transcoder) are copied in 1 MiB steps, never read whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from vod.storage.base import (
    ObjectInfo,
    ObjectNotFound,
    StorageError,
    check_key,
    check_prefix,
    is_key,
)

_COPY_BUFFER = 1024 * 1024


@contextlib.contextmanager
def _storage_errors(key: str) -> Iterator[None]:
    try:
        yield
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ObjectNotFound(key) from None
    except OSError as exc:
        raise StorageError(f"{key}: {exc}") from exc


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data, key)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, self._path(key), key, 0, None)

    async def put_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self._put_file, self._path(key), path, key)

    async def get_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self._get_file, self._path(key), path, key)

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        if start < 0 or end < start:
            raise ValueError(f"bad byte range [{start}, {end})")
        return await asyncio.to_thread(self._read, self._path(key), key, start, end)

    async def head(self, key: str) -> ObjectInfo:
        return ObjectInfo(key, await asyncio.to_thread(self._size, self._path(key), key))

    async def list(self, prefix: str) -> list[ObjectInfo]:
        check_prefix(prefix)
        return await asyncio.to_thread(self._list, prefix)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, self._path(key), key)

    async def close(self) -> None:
        """Nothing to release: every call opens and closes its own file."""

    # Blocking halves, run in worker threads ---------------------------------------------------

    @staticmethod
    def _put(path: Path, data: bytes, key: str) -> None:
        with _storage_errors(key):
            path.parent.mkdir(parents=True, exist_ok=True)
            _replace(path, lambda file: file.write(data))

    @staticmethod
    def _put_file(path: Path, source: Path, key: str) -> None:
        # The source is opened outside the error mapping: a missing file is the caller's error.
        with source.open("rb") as incoming, _storage_errors(key):
            path.parent.mkdir(parents=True, exist_ok=True)
            # Durable before returning: the caller deletes its copy next (an upload's staged
            # bytes), and a crash must not leave the only copy in the page cache.
            _replace(path, lambda file: shutil.copyfileobj(incoming, file, _COPY_BUFFER), durable=True)

    @staticmethod
    def _get_file(path: Path, target: Path, key: str) -> None:
        with _storage_errors(key):
            if not path.is_file():  # a prefix is not an object
                raise FileNotFoundError(key)
            stored = path.open("rb")
        with stored:  # writing ``target`` fails with the caller's OSError
            _replace(target, lambda file: shutil.copyfileobj(stored, file, _COPY_BUFFER))

    @staticmethod
    def _size(path: Path, key: str) -> int:
        with _storage_errors(key):
            if not path.is_file():  # a directory is only a shared key prefix, not an object
                raise FileNotFoundError(key)
            return path.stat().st_size

    @staticmethod
    def _read(path: Path, key: str, start: int, end: int | None) -> bytes:
        with _storage_errors(key), path.open("rb") as file:
            if end is None:
                return file.read()
            file.seek(start)
            return file.read(end - start)

    def _list(self, prefix: str) -> list[ObjectInfo]:
        # Walk only the directory the prefix names (up to its last "/"), then filter by prefix.
        directory = self.root.joinpath(*filter(None, prefix.rpartition("/")[0].split("/")))
        found = []
        for parent, _, files in os.walk(directory):
            relative = Path(parent).relative_to(self.root).as_posix()
            for name in files:
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix) and is_key(key):
                    with contextlib.suppress(FileNotFoundError):  # deleted while listing
                        found.append(ObjectInfo(key, os.stat(os.path.join(parent, name)).st_size))
        return sorted(found, key=lambda info: info.key)

    def _delete(self, path: Path, key: str) -> None:
        with _storage_errors(key):
            path.unlink(missing_ok=True)
            # Prefixes are not objects: remove the directories the key leaves empty.
            for parent in path.parents:
                if parent == self.root or not parent.is_relative_to(self.root):
                    break
                try:
                    parent.rmdir()
                except OSError:  # not empty (or gone): the rest of the chain stays
                    break


def _replace(path: Path, write: Callable[[BinaryIO], object], *, durable: bool = False) -> None:
    """Write a hidden temporary file beside ``path`` and rename it over ``path``: readers see the
    old file or the new one, never a half-written one, and a failed write leaves no trace."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("wb") as file:
            write(file)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporary, path)
        if durable:
            fsync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def fsync_directory(directory: Path) -> None:
    """Make the names in ``directory`` durable: a file's fsync covers its bytes, not the entry
    that names it, so a new or renamed file could vanish in a crash without this."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
