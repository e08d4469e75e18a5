"""Trickle ICE fragments (``application/trickle-ice-sdpfrag``, RFC 8840) sent by WHIP PATCH.

Hand-written because aiortc (like other SDP libraries) parses whole session descriptions, not
fragments: an sdpfrag has no ``v=``/``o=``/``s=`` lines and may start with ``a=ice-ufrag``
before any ``m=``. The grammar needed here is small: ICE credentials, candidates and
end-of-candidates; every other line is ignored (RFC 8840 lets a fragment carry ``m=`` and
``a=mid`` lines to say which section a candidate belongs to; with BUNDLE there is only one
transport, so the session feeds every candidate to it).

A candidate line is checked with aiortc's own candidate parser, so what is accepted here can
be added to the peer connection. A candidate the ICE agent cannot use (TCP, an unresolvable
host) is still accepted and dropped by the agent, as RFC 9725 asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp


class FragmentError(ValueError):
    """A malformed fragment (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class TrickleFragment:
    ufrag: str | None
    pwd: str | None
    candidates: tuple[RTCIceCandidate, ...]
    end_of_candidates: bool


def parse_fragment(body: bytes) -> TrickleFragment:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FragmentError("the fragment is not UTF-8 text") from None
    ufrag = pwd = None
    candidates: list[RTCIceCandidate] = []
    end = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise FragmentError(f"line {number} is not an SDP line")
        if line.startswith("a=ice-ufrag:"):
            ufrag = line[len("a=ice-ufrag:") :]
        elif line.startswith("a=ice-pwd:"):
            pwd = line[len("a=ice-pwd:") :]
        elif line.startswith("a=candidate:"):
            try:
                candidate = candidate_from_sdp(line[len("a=candidate:") :])
            except (AssertionError, ValueError, IndexError):
                raise FragmentError(f"line {number} is not a valid ICE candidate") from None
            candidates.append(candidate)
        elif line == "a=end-of-candidates":
            end = True
    return TrickleFragment(ufrag, pwd, tuple(candidates), end)
