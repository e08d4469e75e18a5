"""Playback tokens at the edge: unlisted and private VOD is served from the shared cache only to
viewers whose token verifies here (signature and expiry, :mod:`catalog.playback_tokens`), with
no database and no origin round trip.

Whether a video needs a token is learnt from the origin's answers (``Tributary-Access``) and
remembered per video; the newest answer wins, so a video made private stops playing without a
token once its playlist (cached for a minute) has been fetched again, even though its immutable
segments stay cached. The edge fetches such videos with a short token of its own
(:mod:`origin.edge_access`); viewers never see it.
"""

from __future__ import annotations

import time

from cachetools import LRUCache

from catalog import playback_tokens
from edge.edge_object import EdgeObject

EDGE_TOKEN_SECONDS = 300
REMEMBERED_VIDEOS = 100_000


class AccessDenied(Exception):
    """The viewer's token is missing, forged, for another video or expired (the message says)."""


class VodAccess:
    def __init__(self, playback_key: bytes) -> None:
        self._key = playback_key
        self._restricted: LRUCache[str, bool] = LRUCache(maxsize=REMEMBERED_VIDEOS)

    def learn(self, video: str, answer: EdgeObject) -> None:
        if answer.status == 200:
            self._restricted[video] = answer.restricted
        elif answer.status in (403, 404):  # gone, or made private: ask the origin next time
            self._restricted.pop(video, None)

    def known_restricted(self, video: str) -> bool:
        return self._restricted.get(video, False)

    def restricted(self, video: str, answer: EdgeObject) -> bool:
        return self._restricted.get(video, answer.restricted) or answer.restricted

    def check(self, video: str, token: str | None) -> None:
        """Raise :class:`AccessDenied` unless ``token`` plays ``video`` now."""
        if token is None:
            raise AccessDenied("this video plays with a playback token (?token=)")
        try:
            playback_tokens.verify(self._key, token, video)
        except playback_tokens.InvalidPlaybackToken as refused:
            raise AccessDenied(f"the playback token was refused: {refused}") from None

    def edge_token(self, video: str) -> str:
        return playback_tokens.issue(self._key, video, int(time.time()) + EDGE_TOKEN_SECONDS)
