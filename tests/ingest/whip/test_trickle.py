"""Trickle ICE fragments (RFC 8840) as WHIP clients PATCH them."""

from __future__ import annotations

import pytest

from ingest.whip.trickle import FragmentError, parse_fragment

# RFC 9725's example, with a TCP candidate the ICE agent will drop on its own.
EXAMPLE = b"""a=ice-ufrag:EsAw\r
a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r
m=audio 9 RTP/AVP 0\r
a=mid:0\r
a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r
a=candidate:3471623853 1 udp 2122194687 198.51.100.1 61765 typ host generation 0 ufrag EsAw network-id 2\r
a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0 ufrag EsAw network-id 1\r
a=end-of-candidates\r
"""


def test_rfc_example():
    fragment = parse_fragment(EXAMPLE)
    assert (fragment.ufrag, fragment.pwd) == ("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1")
    assert [(c.ip, c.port, c.protocol) for c in fragment.candidates] == [
        ("192.0.2.1", 61764, "udp"), ("198.51.100.1", 61765, "udp"), ("192.0.2.1", 9, "tcp"),
    ]
    assert fragment.end_of_candidates


def test_candidates_only_and_lf_line_ends():
    fragment = parse_fragment(b"a=candidate:1 1 udp 1 192.0.2.7 5000 typ host\n")
    assert fragment.ufrag is None and not fragment.end_of_candidates
    assert fragment.candidates[0].ip == "192.0.2.7"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe", b"hello world", b"a=candidate:1 1 udp", b"a=candidate:x 1 udp one 192.0.2.1 9 typ host"],
)
def test_malformed_fragments(body):
    with pytest.raises(FragmentError):
        parse_fragment(body)
