"""The node's signing secret: from settings, else generated once and kept in the data directory.

Access tokens (JWT) and playback tokens are signed with keys derived from this secret, so it must
survive restarts (or every session ends) and be the same on every node of a cluster (set
``TRIBUTARY_SECRET_KEY`` there). A single box on embedded defaults needs no configuration: the
first start writes ``<data_dir>/secret_key`` (mode 0600) and later starts read it back.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import structlog

from tributary.settings import Settings

log = structlog.get_logger(__name__)

FILE_NAME = "secret_key"


def load_secret_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.data_dir / FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    key = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
    log.info("secret_key.generated", path=str(path))
    return key


def _read(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds fewer than 32 bytes; delete it to generate a new one")
    return key
