"""Playback tokens carried through playlists: a player follows a playlist's URIs verbatim, so a
tokened playlist must hand its token on to every URI it lists, or the next request is refused."""

from __future__ import annotations

import re
from urllib.parse import urlencode

_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')


def with_token(playlist: str, token: str) -> str:
    """The playlist with ``token`` added to every URI it lists (lines and ``URI=`` attributes)."""
    query = "?" + urlencode({"token": token})
    lines = []
    for line in playlist.splitlines():
        if line and not line.startswith("#"):
            line += query
        else:
            line = _URI_ATTRIBUTE.sub(lambda match: f'URI="{match[1]}{query}"', line)
        lines.append(line)
    return "\n".join(lines) + "\n"
