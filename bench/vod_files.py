"""Files the VOD benchmarks make once and keep between invocations, in the temp directory beside
the live benchmarks' source (``bench/harness.py``): encoding a source or writing half a
gigabyte of random bytes is not what any figure measures."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE = Path(tempfile.gettempdir()) / "tributary-bench"


def cached_file(name: str, make: Callable[[Path], None]) -> Path:
    """``CACHE/name``, made by ``make(partial path)`` the first time and renamed into place when
    complete, so an interrupted run never leaves a truncated file to be taken as done."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / name
    if path.is_file() and path.stat().st_size > 0:
        return path
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial{path.suffix}")
    try:
        make(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
