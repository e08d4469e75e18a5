"""Resource names of a live rendition, shared by the playlist writer and the origin routes.

Playlists reference media by these relative names and the origin parses requests back with
:func:`parse_media_name`, so the two can never disagree. Numbers are written without leading
zeros and parsing accepts only that canonical form: one resource, one URL, one cache entry.
"""

from __future__ import annotations

import re
from typing import Literal

ResourceKind = Literal["init", "segment", "part"]

MEDIA_PLAYLIST_NAME = "index.m3u8"

MAX_NUMBER_DIGITS = 15
"""Sequence numbers stay far below 10**15 (a 200 ms part counter needs 6 million years)."""

NUMBER_PATTERN = rf"(?:0|[1-9][0-9]{{0,{MAX_NUMBER_DIGITS - 1}}})"
"""A canonical sequence number: decimal, no sign, no leading zeros, bounded length."""

MEDIA_NAME_PATTERN = (
    rf"(?:init{NUMBER_PATTERN}\.mp4|seg{NUMBER_PATTERN}\.m4s|part{NUMBER_PATTERN}\.m4s)"
)
"""Regular expression (no anchors) for every media resource name; usable in route definitions."""

_MEDIA_NAME = re.compile(rf"(init|seg|part)({NUMBER_PATTERN})\.(mp4|m4s)")
_KINDS: dict[tuple[str, str], ResourceKind] = {
    ("init", "mp4"): "init",
    ("seg", "m4s"): "segment",
    ("part", "m4s"): "part",
}


def init_name(init_id: int) -> str:
    return f"init{init_id}.mp4"


def segment_name(msn: int) -> str:
    return f"seg{msn}.m4s"


def part_name(index: int) -> str:
    return f"part{index}.m4s"


def parse_media_name(name: str) -> tuple[ResourceKind, int] | None:
    """``"part42.m4s"`` → ``("part", 42)``; ``None`` for anything that is not a canonical name."""
    match = _MEDIA_NAME.fullmatch(name)
    if match is None:
        return None
    prefix, number, extension = match.groups()
    kind = _KINDS.get((prefix, extension))
    return None if kind is None else (kind, int(number))
