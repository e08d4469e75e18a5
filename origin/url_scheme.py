"""The playback URL scheme, in one place: the origin's routes and the edge's are built from it.

``{stream}`` and ``{rendition}`` match ``NAME_PATTERN``, ``{video}`` a catalog public id, media
names the canonical live names (:mod:`packager.live.names`). Nothing else matches, so a path
that reaches a handler cannot traverse anything and has exactly one spelling: one object, one
URL, one cache entry.
"""

from __future__ import annotations

from catalog.videos import PUBLIC_ID_PATTERN
from packager.live.names import MEDIA_NAME_PATTERN, MEDIA_PLAYLIST_NAME, NUMBER_PATTERN

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
VIDEO_PATTERN = PUBLIC_ID_PATTERN.removeprefix("^").removesuffix("$")

_LIVE_STREAM = f"/live/{{stream:{NAME_PATTERN}}}"
_LIVE_RENDITION = f"{_LIVE_STREAM}/{{rendition:{NAME_PATTERN}}}"
_VOD_VIDEO = f"/vod/{{video:{VIDEO_PATTERN}}}"
_VOD_RENDITION = f"{_VOD_VIDEO}/{{rendition:{NAME_PATTERN}}}"

LIVE_MULTIVARIANT = f"{_LIVE_STREAM}/master.m3u8"
LIVE_MEDIA_PLAYLIST = f"{_LIVE_RENDITION}/{MEDIA_PLAYLIST_NAME}"
LIVE_MEDIA = f"{_LIVE_RENDITION}/{{name:{MEDIA_NAME_PATTERN}}}"

STORYBOARD_NAME = "storyboard.vtt"
"""The seek-preview track beside a video's ``master.m3u8`` (the route below spells it with a
``{track}`` match so a VOD route's match alone tells every resource apart)."""

VOD_MULTIVARIANT = f"{_VOD_VIDEO}/master.m3u8"
VOD_MEDIA_PLAYLIST = f"{_VOD_RENDITION}/{MEDIA_PLAYLIST_NAME}"
VOD_MEDIA = f"{_VOD_RENDITION}/{{name:{MEDIA_NAME_PATTERN}}}"
VOD_THUMBNAIL = f"{_VOD_VIDEO}/thumb{{thumbnail:{NUMBER_PATTERN}}}.jpg"
VOD_STORYBOARD = f"{_VOD_VIDEO}/{{track:storyboard}}.vtt"
"""A transcoded video's seek previews (WebVTT thumbnails track)."""


def thumbnail_name(thumbnail_id: int) -> str:
    """A thumbnail's name beside ``master.m3u8`` (:data:`VOD_THUMBNAIL`): what the storyboard
    track's cues refer to."""
    return f"thumb{thumbnail_id}.jpg"


PLAYBACK_ROUTES = (
    LIVE_MULTIVARIANT,
    LIVE_MEDIA_PLAYLIST,
    LIVE_MEDIA,
    VOD_MULTIVARIANT,
    VOD_MEDIA_PLAYLIST,
    VOD_MEDIA,
    VOD_THUMBNAIL,
    VOD_STORYBOARD,
)
"""Every playback resource: what an edge proxies (anything else it answers 404 itself)."""
