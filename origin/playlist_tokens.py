"""Playback tokens carried through playlists and thumbnail tracks: a player follows their URIs
verbatim, so a tokened one must hand its token on to every URI it lists, or the next request
is refused. Used by origins (for viewers with ``?token=``) and edges (for each viewer)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')

VTT_TYPE = "text/vtt; charset=utf-8"


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


def track_with_token(track: str, token: str) -> str:
    """A WebVTT thumbnails track with ``token`` on every cue's image URI, before its ``#xywh``
    fragment (cue payloads are the only lines that are not the header, blank or timings)."""
    query = "?" + urlencode({"token": token})
    lines = []
    for line in track.splitlines():
        if line and line != "WEBVTT" and "-->" not in line:
            uri, mark, fragment = line.partition("#")
            line = f"{uri}{query}{mark}{fragment}"
        lines.append(line)
    return "\n".join(lines) + "\n"
