"""What the edge remembers about a video's access: the newest origin answer wins, so a video
made private needs a token as soon as its playlist has been fetched again, even for segments
cached while it was public; an answer that the video is gone makes the edge ask again."""

from __future__ import annotations

import time

import pytest

from catalog import playback_tokens
from edge.access import AccessDenied, VodAccess
from edge.edge_object import EdgeObject, edge_object
from edge.upstream import UpstreamResponse

KEY = b"p" * 32
VIDEO = "AAAAAAAAAAA"


def answer(status: int = 200, restricted: bool = False) -> EdgeObject:
    headers = (("Cache-Control", "max-age=60"),) + ((("Tributary-Access", "token"),) if restricted else ())
    return edge_object(UpstreamResponse(status, headers, b"x"), now=0)


def test_the_newest_answer_decides():
    access = VodAccess(KEY)
    public_segment = answer()
    assert not access.restricted(VIDEO, public_segment) and not access.known_restricted(VIDEO)
    access.learn(VIDEO, answer(restricted=True))  # the playlist, fetched again: now private
    assert access.known_restricted(VIDEO) and access.restricted(VIDEO, public_segment)
    access.learn(VIDEO, answer(404))
    assert not access.known_restricted(VIDEO)
    assert access.restricted(VIDEO, answer(restricted=True))  # an object's own mark still holds


def test_tokens_are_checked_locally():
    access = VodAccess(KEY)
    access.check(VIDEO, playback_tokens.issue(KEY, VIDEO, int(time.time()) + 60))
    access.check(VIDEO, access.edge_token(VIDEO))
    for bad in (None, "", "v1...", playback_tokens.issue(KEY, VIDEO, int(time.time()) - 1),
                playback_tokens.issue(KEY, "BBBBBBBBBBB", int(time.time()) + 60)):
        with pytest.raises(AccessDenied):
            access.check(VIDEO, bad)
