"""Where media is kept: one small async interface (:class:`Storage`), local disk for now."""

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

__all__ = [
    "InvalidKey",
    "LocalStorage",
    "ObjectInfo",
    "ObjectNotFound",
    "Storage",
    "StorageError",
    "check_key",
    "check_prefix",
    "open_storage",
]


def open_storage(settings: StorageSettings, data_dir: Path) -> Storage:
    """The configured backend: local disk under ``settings.local_root`` (or the data directory)."""
    return LocalStorage(settings.local_root or data_dir / "storage")
