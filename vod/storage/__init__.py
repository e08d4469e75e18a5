"""Where media is kept: one small async interface (:class:`Storage`), on local disk or in S3."""

from __future__ import annotations

from pathlib import Path

from tributary.settings import StorageSettings
from vod.storage.base import (
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    check_key,
    check_prefix,
)
from vod.storage.local import LocalStorage
from vod.storage.s3 import S3Storage

__all__ = [
    "InvalidKey",
    "LocalStorage",
    "ObjectInfo",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageError",
    "check_key",
    "check_prefix",
    "open_storage",
]


async def open_storage(settings: StorageSettings, data_dir: Path) -> Storage:
    """The configured backend, ready for use: S3 when ``settings.s3`` is set, else the local disk
    under ``settings.local_root`` (or the data directory). The caller closes it when done."""
    if settings.s3 is not None:
        s3 = S3Storage(settings.s3)
        await s3.open()
        return s3
    return LocalStorage(settings.local_root or data_dir / "storage")
