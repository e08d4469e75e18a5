"""The playback token format: what an edge verifies with nothing but the playback key."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from catalog import playback_tokens as pt
from catalog.derived_keys import ACCESS_TOKENS, PLAYBACK_TOKENS, derive_key

KEY = derive_key(b"s" * 48, PLAYBACK_TOKENS)
NOW = 1_800_000_000


def test_issue_and_verify():
    token = pt.issue(KEY, "dQw4w9WgXcQ", NOW + 60)
    assert token.startswith("v1.") and token.count(".") == 4
    grant = pt.verify(KEY, token, "dQw4w9WgXcQ", now=NOW)
    assert grant == pt.PlaybackGrant("dQw4w9WgXcQ", NOW + 60, None)
    # An unbound token plays for any viewer.
    assert pt.verify(KEY, token, "dQw4w9WgXcQ", "42", now=NOW).viewer_id is None


def test_expiry_is_exclusive():
    token = pt.issue(KEY, "vid", NOW + 60)
    pt.verify(KEY, token, "vid", now=NOW + 59.9)
    with pytest.raises(pt.InvalidPlaybackToken, match="expired"):
        pt.verify(KEY, token, "vid", now=NOW + 60)


def test_bound_to_video_and_viewer():
    token = pt.issue(KEY, "vid", NOW + 60, viewer_id="42")
    assert pt.verify(KEY, token, "vid", "42", now=NOW).viewer_id == "42"
    with pytest.raises(pt.InvalidPlaybackToken, match="another video"):
        pt.verify(KEY, token, "other", "42", now=NOW)
    for viewer in ("43", None, ""):
        with pytest.raises(pt.InvalidPlaybackToken, match="another viewer"):
            pt.verify(KEY, token, "vid", viewer, now=NOW)


def test_other_keys_refuse():
    token = pt.issue(KEY, "vid", NOW + 60)
    for key in (derive_key(b"t" * 48, PLAYBACK_TOKENS), derive_key(b"s" * 48, ACCESS_TOKENS)):
        with pytest.raises(pt.InvalidPlaybackToken, match="signature"):
            pt.verify(key, token, "vid", now=NOW)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def test_any_change_breaks_the_signature():
    token = pt.issue(KEY, "vid", NOW + 60, viewer_id="42")
    version, video, expiry, viewer, mac = token.split(".")
    forged = [
        ".".join(("v2", video, expiry, viewer, mac)),
        ".".join((version, _b64("other"), expiry, viewer, mac)),
        ".".join((version, video, str(NOW + 10**6), viewer, mac)),
        ".".join((version, video, expiry, "", mac)),  # strip the viewer binding
        ".".join((version, video, expiry, viewer, mac[:-1] + ("A" if mac[-1] != "A" else "B"))),
    ]
    for token in forged:
        with pytest.raises(pt.InvalidPlaybackToken, match="signature"):
            pt.verify(KEY, token, "vid", "42", now=NOW)


@pytest.mark.parametrize("token", [
    "", ".", "v1", "v1....", "garbage", "v1.dmlk.1.x.y.z", "é" * 10, "v1." + "A" * 600,
    "v1.dmlk.-5..AAAA", "\x00",
])
def test_malformed_tokens_are_refused_not_crashing(token):
    with pytest.raises(pt.InvalidPlaybackToken):
        pt.verify(KEY, token, "vid", now=NOW)


def sign(payload: str) -> str:
    """The documented MAC, computed independently of the module."""
    mac = hmac.new(KEY, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_documented_format():
    assert pt.issue(KEY, "vid", NOW, "42") == sign(f"v1.{_b64('vid')}.{NOW}.{_b64('42')}")


def test_well_signed_but_malformed_fields_are_refused():
    """Even with a valid MAC (a key holder's bug), bad fields never pass."""
    for payload in ("v1.dmlk.soon.", "v1.dmlk.1.x.extra", "v1.***.1.", "v1.dmlk." + "9" * 13 + ".",
                    "v1.dmlk.1.*", "v1.d.1."):
        token = sign(payload)
        with pytest.raises(pt.InvalidPlaybackToken, match="malformed"):
            pt.verify(KEY, token, "vid", now=NOW)
