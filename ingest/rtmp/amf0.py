"""AMF0 values, as carried in RTMP command and data messages.

Hand-written because no maintained Python library parses RTMP/AMF0.
Spec: Adobe "Action Message Format -- AMF 0" (December 2007), section 2.

Decoding runs on bytes an unauthenticated peer sent us, so every length is checked against the
buffer before it is used, nesting is bounded, and every malformation surfaces as one exception
type, :class:`Amf0Error`, that the session turns into a clean disconnect.

Python mapping: number ↔ float (ints encode as numbers), boolean ↔ bool, string and long string
↔ str, object ↔ dict, ECMA array ↔ :class:`EcmaArray`, strict array ↔ list, null ↔ None,
undefined ↔ :data:`UNDEFINED`, date ↔ :class:`Amf0Date`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import Final

NUMBER: Final = 0x00
BOOLEAN: Final = 0x01
STRING: Final = 0x02
OBJECT: Final = 0x03
NULL: Final = 0x05
UNDEFINED_MARKER: Final = 0x06
ECMA_ARRAY: Final = 0x08
OBJECT_END: Final = 0x09
STRICT_ARRAY: Final = 0x0A
DATE: Final = 0x0B
LONG_STRING: Final = 0x0C

MAX_DEPTH: Final = 32
"""Real metadata nests two or three levels; the bound stops a stack-exhaustion payload."""

_SHORT_STRING_MAX: Final = 0xFFFF
_OBJECT_END_BYTES: Final = b"\x00\x00\x09"
_DOUBLE = struct.Struct(">d")
_DATE = struct.Struct(">dh")


class Amf0Error(ValueError):
    """The bytes are not valid AMF0, or a value cannot be represented in AMF0."""


class _Undefined(Enum):
    UNDEFINED = "undefined"

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined.UNDEFINED
"""AMF0 ``undefined``, kept distinct from ``null`` so replies can be byte-exact."""


class EcmaArray(dict[str, object]):
    """An associative array (``onMetaData`` uses one); a dict that remembers its AMF0 type."""


@dataclass(frozen=True, slots=True)
class Amf0Date:
    """A date kept as sent: milliseconds since the epoch (a double) and the reserved time-zone field."""

    epoch_ms: float
    timezone: int = 0


def decode(data: bytes) -> list[object]:
    """Every value in ``data``, in order; trailing partial values are an error."""
    decoder = _Decoder(data)
    values: list[object] = []
    while decoder.pos < len(data):
        values.append(decoder.value(0))
    return values


def encode(*values: object) -> bytes:
    """The AMF0 encoding of ``values`` back to back, as a command or data message body."""
    out = bytearray()
    for value in values:
        _encode_value(out, value, 0)
    return bytes(out)


class _Decoder:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise Amf0Error(
                f"truncated: need {size} bytes at offset {self.pos}, have {len(self.data) - self.pos}"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def text(self, size: int) -> str:
        try:
            return self.take(size).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Amf0Error(f"string is not UTF-8: {exc.reason}") from None

    def value(self, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise Amf0Error(f"nesting deeper than {MAX_DEPTH}")
        marker = self.take(1)[0]
        if marker == NUMBER:
            return _DOUBLE.unpack(self.take(8))[0]
        if marker == BOOLEAN:
            return self.take(1)[0] != 0
        if marker == STRING:
            return self.text(self.u16())
        if marker == LONG_STRING:
            return self.text(self.u32())
        if marker == NULL:
            return None
        if marker == UNDEFINED_MARKER:
            return UNDEFINED
        if marker == OBJECT:
            return self.properties({}, depth)
        if marker == ECMA_ARRAY:
            self.take(4)  # The count is only a hint; the end marker is authoritative.
            return self.properties(EcmaArray(), depth)
        if marker == STRICT_ARRAY:
            count = self.u32()
            if count > len(self.data) - self.pos:  # Every element takes at least one byte.
                raise Amf0Error(f"strict array of {count} elements exceeds the remaining bytes")
            return [self.value(depth + 1) for _ in range(count)]
        if marker == DATE:
            epoch_ms, timezone = _DATE.unpack(self.take(_DATE.size))
            return Amf0Date(epoch_ms, timezone)
        raise Amf0Error(f"unsupported AMF0 marker 0x{marker:02x} at offset {self.pos - 1}")

    def properties(self, target: dict[str, object], depth: int) -> dict[str, object]:
        while True:
            key = self.text(self.u16())
            if not key and self.data[self.pos : self.pos + 1] == bytes((OBJECT_END,)):
                self.pos += 1
                return target
            target[key] = self.value(depth + 1)


def _encode_value(out: bytearray, value: object, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Amf0Error(f"nesting deeper than {MAX_DEPTH}")
    # bool before int/float: bool is an int subclass.
    if isinstance(value, bool):
        out += bytes((BOOLEAN, value))
    elif isinstance(value, (int, float)):
        out.append(NUMBER)
        out += _DOUBLE.pack(value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        if len(raw) <= _SHORT_STRING_MAX:
            out.append(STRING)
            out += len(raw).to_bytes(2, "big")
        else:
            out.append(LONG_STRING)
            out += len(raw).to_bytes(4, "big")
        out += raw
    elif value is None:
        out.append(NULL)
    elif value is UNDEFINED:
        out.append(UNDEFINED_MARKER)
    elif isinstance(value, EcmaArray):
        out.append(ECMA_ARRAY)
        out += len(value).to_bytes(4, "big")
        _encode_properties(out, value, depth)
    elif isinstance(value, dict):
        out.append(OBJECT)
        _encode_properties(out, value, depth)
    elif isinstance(value, (list, tuple)):
        out.append(STRICT_ARRAY)
        out += len(value).to_bytes(4, "big")
        for item in value:
            _encode_value(out, item, depth + 1)
    elif isinstance(value, Amf0Date):
        out.append(DATE)
        out += _DATE.pack(value.epoch_ms, value.timezone)
    else:
        raise Amf0Error(f"cannot encode {type(value).__name__} as AMF0")


def _encode_properties(out: bytearray, properties: dict[str, object], depth: int) -> None:
    for key, item in properties.items():
        if not isinstance(key, str):
            raise Amf0Error(f"property name {key!r} is not a string")
        raw = key.encode("utf-8")
        if len(raw) > _SHORT_STRING_MAX:
            raise Amf0Error("property name longer than 65535 bytes")
        out += len(raw).to_bytes(2, "big")
        out += raw
        _encode_value(out, item, depth + 1)
    out += _OBJECT_END_BYTES
