"""What an acceptable WHIP offer is, and the status and sentence every unusable one gets."""

from __future__ import annotations

import re

import pytest

from ingest.whip.offer import OfferRejected, parse_offer
from tests.ingest.whip.client import sample_offer


@pytest.fixture(scope="module")
async def offer() -> str:
    return await sample_offer()


def rejected(body: bytes) -> OfferRejected:
    with pytest.raises(OfferRejected) as caught:
        parse_offer(body)
    return caught.value


def test_a_browser_like_offer_is_accepted(offer):
    parsed = parse_offer(offer.encode())
    assert parsed.has_audio
    assert parsed.video_codecs == ("VP8", "H264")
    assert len(parsed.rtx_ssrcs) == 1
    assert parsed.ice_ufrag and parsed.transport_mids == ("0",)


async def test_video_only_is_accepted():
    parsed = parse_offer((await sample_offer(audio=False)).encode())
    assert not parsed.has_audio


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"", 400, "not an SDP offer"),
        (b"garbage", 400, "not an SDP offer"),
        (b"\xff\xfe\x00v=0", 400, "not UTF-8"),
        (b"v=0\r\n\x00", 400, "NUL"),
        (b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", 400, "no media"),
        (b"v=0\r\nm=video x", 400, "malformed SDP"),
        (b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n",
         400, "malformed SDP"),
    ],
)
def test_malformed_bodies_are_400(body, status, says):
    error = rejected(body)
    assert error.status == status and says in error.message


def test_truncated_before_the_video_is_400(offer):
    assert rejected(offer[: offer.index("m=video")].encode()).status == 400


def test_audio_only_is_400(offer):
    audio_only = re.sub(r"m=video.*?(?=m=audio)", "", offer, flags=re.S)
    error = rejected(audio_only.encode())
    assert error.status == 400 and "no video" in error.message


def test_unsupported_video_codecs_are_400(offer):
    av1 = re.sub(r"(a=rtpmap:\d+ )(VP8|H264)/", r"\1AV1/", offer)
    error = rejected(av1.encode())
    assert error.status == 400 and "AV1" in error.message and "H.264 or VP8" in error.message


def test_unsupported_audio_codecs_are_400(offer):
    unknown = re.sub(r"(a=rtpmap:\d+ )(opus|G722|PCMU|PCMA)/", r"\1AMR/", offer)
    error = rejected(unknown.encode())
    assert error.status == 400 and "audio codec" in error.message


@pytest.mark.parametrize("direction", ["recvonly", "inactive"])
def test_a_client_that_would_not_send_is_400(offer, direction):
    error = rejected(offer.replace("a=sendonly", f"a={direction}").encode())
    assert error.status == 400 and direction in error.message


def test_two_video_tracks_are_406(offer):
    video = offer[offer.index("m=video") : offer.index("m=audio")]
    error = rejected((offer + video.replace("a=mid:0", "a=mid:2")).encode())
    assert error.status == 406


def test_data_channels_are_406(offer):
    error = rejected((offer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n").encode())
    assert error.status == 406


@pytest.mark.parametrize(("cut_at", "says"), [("a=fingerprint", "fingerprint"), ("a=ice-ufrag", "ICE credentials")])
def test_truncated_inside_the_video_section_is_400(offer, cut_at, says):
    error = rejected(offer[: offer.index(cut_at)].encode())
    assert error.status == 400 and says in error.message
