"""AMF0 round trips and hostile inputs (AMF0 spec section 2)."""

from __future__ import annotations

import math
import struct

import pytest

from ingest.rtmp import amf0
from ingest.rtmp.amf0 import UNDEFINED, Amf0Date, Amf0Error, EcmaArray


@pytest.mark.parametrize(
    "value",
    [
        0.0,
        -1.5,
        1e300,
        True,
        False,
        "",
        "live/key ünïcode",
        "x" * 70_000,  # long string
        None,
        UNDEFINED,
        {},
        {"app": "live", "nested": {"list": [1.0, "two", None, {"deep": [[]]}]}},
        EcmaArray(width=640.0, height=360.0, encoder="Lavf"),
        [1.0, True, "s", UNDEFINED, EcmaArray()],
        Amf0Date(1_700_000_000_000.0, 0),
    ],
)
def test_round_trip(value: object) -> None:
    decoded = amf0.decode(amf0.encode(value))
    assert decoded == [value]
    assert type(decoded[0]) is type(value)


def test_several_values_and_markers() -> None:
    data = amf0.encode("connect", 1, {"app": "live"}, None)
    assert data[0] == amf0.STRING and b"\x00\x03app" in data
    assert amf0.decode(data) == ["connect", 1.0, {"app": "live"}, None]
    assert amf0.encode("x" * 70_000)[0] == amf0.LONG_STRING
    assert math.isnan(amf0.decode(amf0.encode(float("nan")))[0])  # type: ignore[arg-type]


def test_ecma_array_count_is_only_a_hint() -> None:
    # librtmp and some encoders write 0 for the count; the end marker decides.
    data = bytes((amf0.ECMA_ARRAY,)) + b"\x00\x00\x00\x00" + b"\x00\x01a" + amf0.encode(1.0) + b"\x00\x00\x09"
    assert amf0.decode(data) == [{"a": 1.0}]


def nested_arrays(depth: int) -> bytes:
    return (bytes((amf0.STRICT_ARRAY,)) + b"\x00\x00\x00\x01") * depth + amf0.encode(None)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x00\x00\x00", id="truncated number"),
        pytest.param(b"\x01", id="truncated boolean"),
        pytest.param(b"\x02\x00\x05abc", id="string longer than buffer"),
        pytest.param(b"\x0c\xff\xff\xff\xffabc", id="long string longer than buffer"),
        pytest.param(b"\x02\x00\x02\xff\xfe", id="string not utf-8"),
        pytest.param(b"\x03\x00\x03app\x02\x00\x04live", id="object without end marker"),
        pytest.param(b"\x03\x00\x03app", id="object key without value"),
        pytest.param(b"\x08\x00\x00", id="truncated ecma count"),
        pytest.param(b"\x0a\xff\xff\xff\xff\x05", id="strict array count beyond buffer"),
        pytest.param(b"\x0b" + struct.pack(">d", 1.0), id="truncated date"),
        pytest.param(b"\x07\x00\x01", id="reference marker"),
        pytest.param(b"\x0d", id="unsupported marker"),
        pytest.param(b"\x10\x00\x01a\x00\x00\x09", id="typed object"),
        pytest.param(b"\x11\x01", id="avmplus switch"),
        pytest.param(b"\xff", id="unknown marker"),
        pytest.param(b"\x09", id="stray object end"),
        pytest.param(nested_arrays(amf0.MAX_DEPTH + 2), id="nesting bomb"),
        pytest.param(b"\x03" * 100_000, id="deep objects"),
    ],
)
def test_malformed_input_raises_amf0_error(data: bytes) -> None:
    with pytest.raises(Amf0Error):
        amf0.decode(data)


def test_nesting_within_the_bound_is_fine() -> None:
    assert amf0.decode(nested_arrays(amf0.MAX_DEPTH - 1))


def test_unencodable_values() -> None:
    with pytest.raises(Amf0Error):
        amf0.encode(object())
    with pytest.raises(Amf0Error):
        amf0.encode({1: "not a string key"})
    with pytest.raises(Amf0Error):
        amf0.encode({"k" * 70_000: 1})
