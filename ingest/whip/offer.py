"""The SDP offer a WHIP client POSTs: checked before any key lookup, peer connection or port.

aiortc parses the SDP (its parser is the one ``setRemoteDescription`` uses, so what passes here
parses there too); this module adds the rules WHIP and this server impose on top, and turns
every way an offer can be unusable into an HTTP status and one sentence a person can act on:

* 400: not UTF-8, not SDP, unparseable, no media, no video, media the client would not send
  (RFC 9725 forbids ``recvonly``/``inactive``), no ICE credentials or DTLS fingerprint (a
  truncated offer), or no codec we decode (video: H.264 or VP8; audio: what aiortc decodes,
  Opus in practice);
* 406: more than one audio or video track, or media other than audio/video (RFC 9725 allows
  one MediaStream with at most one track of each kind, and answers 406 to what a server does
  not support rather than accepting part of the offer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiortc import RTCRtpReceiver
from aiortc.sdp import MediaDescription, SessionDescription

VIDEO_CODECS: Final = frozenset({"H264", "VP8"})
"""What the ingest decoder takes (the issue's scope: other codecs would need other decoders)."""
_SENDING: Final = frozenset({"sendonly", "sendrecv"})


class OfferRejected(Exception):
    """The offer cannot start a session; ``status`` is the HTTP answer, the message its body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Offer:
    sdp: str
    has_audio: bool
    video_codecs: tuple[str, ...]
    """Decodable video codecs in the client's order of preference."""
    rtx_ssrcs: frozenset[int]
    """Retransmission streams (``a=ssrc-group:FID`` secondaries): their sender reports are not
    the media's own."""
    ice_ufrag: str | None
    """The client's ICE username fragment: a trickle PATCH with another one is an ICE restart."""
    transport_mids: tuple[str, ...]
    """The media sections that own an ICE transport: the first of the BUNDLE group (RFC 9725
    requires BUNDLE), or every section of an offer without one."""


def parse_offer(body: bytes) -> Offer:
    """Validate a WHIP offer body; raises :class:`OfferRejected`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise OfferRejected(400, "the SDP offer is not UTF-8 text") from None
    if "\x00" in text:
        raise OfferRejected(400, "the SDP offer contains NUL characters")
    if not text.lstrip().startswith("v=0"):
        raise OfferRejected(400, "the body is not an SDP offer (SDP starts with v=0)")
    try:
        description = SessionDescription.parse(text)
    except Exception as exc:  # noqa: BLE001 - aiortc's parser raises anything on hostile input
        raise OfferRejected(400, f"malformed SDP offer ({type(exc).__name__})") from None
    media = description.media
    if not media:
        raise OfferRejected(400, "the SDP offer has no media sections")
    kinds = [m.kind for m in media]
    if any(kind not in ("audio", "video") for kind in kinds):
        raise OfferRejected(406, "WHIP carries audio and video only (no data channels)")
    if kinds.count("video") > 1 or kinds.count("audio") > 1:
        raise OfferRejected(406, "one video and at most one audio track per publish")
    if "video" not in kinds:
        raise OfferRejected(400, "the SDP offer has no video")
    for section in media:
        if section.direction not in _SENDING:
            raise OfferRejected(
                400, f"the {section.kind} section is {section.direction or 'without direction'}: "
                "a WHIP client sends media (sendonly)"
            )
        if section.ice is None or not section.ice.usernameFragment or not section.ice.password:
            raise OfferRejected(
                400, f"the {section.kind} section has no ICE credentials (ice-ufrag, ice-pwd)"
            )
        if section.dtls is None or not section.dtls.fingerprints:
            raise OfferRejected(400, f"the {section.kind} section has no DTLS fingerprint")
    video = next(m for m in media if m.kind == "video")
    video_codecs = _offered(video, VIDEO_CODECS)
    if not video_codecs:
        raise OfferRejected(
            400, f"no supported video codec offered ({', '.join(_names(video)) or 'none'}); "
            "send H.264 or VP8"
        )
    audio = next((m for m in media if m.kind == "audio"), None)
    if audio is not None and not _offered(audio, _decodable("audio")):
        raise OfferRejected(
            400, f"no supported audio codec offered ({', '.join(_names(audio)) or 'none'}); send Opus"
        )
    rtx = frozenset(
        int(group.items[1])
        for section in media
        for group in section.ssrc_group
        if group.semantic == "FID" and len(group.items) > 1
    )
    bundle = next((g for g in description.group if g.semantic == "BUNDLE" and g.items), None)
    mids = tuple(str(m.rtp.muxId) for m in media)
    return Offer(
        sdp=text,
        has_audio=audio is not None,
        video_codecs=video_codecs,
        rtx_ssrcs=rtx,
        ice_ufrag=next((m.ice.usernameFragment for m in media if m.ice is not None), None),
        transport_mids=(str(bundle.items[0]),) if bundle is not None else mids,
    )


def _names(section: MediaDescription) -> list[str]:
    return list(dict.fromkeys(codec.name for codec in section.rtp.codecs))


def _offered(section: MediaDescription, accepted: frozenset[str]) -> tuple[str, ...]:
    return tuple(name for name in _names(section) if name.upper() in accepted)


def _decodable(kind: str) -> frozenset[str]:
    capabilities = RTCRtpReceiver.getCapabilities(kind)
    assert capabilities is not None
    return frozenset(
        codec.mimeType.split("/", 1)[1].upper()
        for codec in capabilities.codecs
        if not codec.mimeType.lower().endswith("/rtx")
    )
