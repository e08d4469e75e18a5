"""RTMP chunk streams: reassembling incoming chunks into messages and chunking outgoing ones.

Hand-written because no maintained Python library parses RTMP/AMF0.
Spec: Adobe RTMP 1.0 specification (December 2012), sections 5.3 (chunking) and 5.4.1-5.4.2
(Set Chunk Size, Abort Message, which change how the following chunks are read and so are
applied here rather than by the session).

Everything the peer controls is bounded before memory is committed to it: the chunk size, the
announced message length and the number of chunk streams holding a partial message. The reader
reads whole headers and whole chunk bodies with ``readexactly`` so the media path has no
per-byte Python work, and each chunk must arrive within the idle timeout.
"""

from __future__ import annotations

import asyncio
from typing import Final, NamedTuple

DEFAULT_CHUNK_SIZE: Final = 128
MIN_CSID: Final = 2
MAX_CSID: Final = 65599
TIMESTAMP_MASK: Final = 0xFFFFFFFF
EXTENDED_TIMESTAMP: Final = 0xFFFFFF
_MESSAGE_HEADER_SIZES: Final = (11, 7, 3, 0)
_SET_CHUNK_SIZE: Final = 1
_ABORT: Final = 2


class ChunkError(Exception):
    """The peer broke the chunking rules; the connection cannot be resynchronised."""


class Message(NamedTuple):
    """A reassembled RTMP message. ``timestamp`` is absolute, in the peer's 32-bit milliseconds."""

    csid: int
    timestamp: int
    type_id: int
    stream_id: int
    payload: bytes


def basic_header(fmt: int, csid: int) -> bytes:
    """The 1-3 byte chunk basic header (RTMP 5.3.1.1), using the shortest form for ``csid``."""
    if not MIN_CSID <= csid <= MAX_CSID:
        raise ValueError(f"chunk stream id {csid} outside {MIN_CSID}..{MAX_CSID}")
    if csid < 64:
        return bytes((fmt << 6 | csid,))
    if csid < 320:
        return bytes((fmt << 6, csid - 64))
    return bytes((fmt << 6 | 1, (csid - 64) & 0xFF, (csid - 64) >> 8))


class _ChunkStream:
    """What a chunk stream remembers so later headers can omit fields (RTMP 5.3.1.2)."""

    __slots__ = ("timestamp", "delta", "length", "type_id", "stream_id", "extended", "parts", "received")

    def __init__(self) -> None:
        self.timestamp = 0
        # The value type 3 headers add: a type 1/2 delta, or (per 5.3.1.2.4) a type 0 timestamp.
        self.delta = 0
        self.length = 0
        self.type_id = 0
        self.stream_id = 0
        # Whether the last type 0/1/2 header used an extended timestamp; if so every type 3 chunk
        # on this chunk stream carries one too (ffmpeg and librtmp rely on this).
        self.extended = False
        self.parts: list[bytes] = []
        self.received = 0


class ChunkReader:
    """Turns the chunk stream a peer sends into complete messages."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        *,
        idle_timeout: float,
        max_message_size: int,
        max_chunk_size: int,
        max_chunk_streams: int,
    ) -> None:
        self._reader = reader
        self._idle_timeout = idle_timeout
        self._max_message_size = max_message_size
        self._max_chunk_size = max_chunk_size
        self._max_partial = max_chunk_streams
        self._streams: dict[int, _ChunkStream] = {}
        self._partial = 0
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self.bytes_received = 0
        """Bytes read since the handshake, for Acknowledgement messages."""

    async def read_message(self) -> Message:
        """The next complete message other than Set Chunk Size and Abort, which are applied here.

        Raises :class:`ChunkError`, :class:`TimeoutError` when a chunk takes longer than the idle
        timeout, or :class:`asyncio.IncompleteReadError` when the peer disconnects.
        """
        while True:
            async with asyncio.timeout(self._idle_timeout):
                message = await self._read_chunk()
            if message is None:
                continue
            if message.type_id == _SET_CHUNK_SIZE:
                self.chunk_size = self._parse_chunk_size(message.payload)
            elif message.type_id == _ABORT:
                self._abort(_parse_u32(message.payload, "Abort"))
            else:
                return message

    async def _read_chunk(self) -> Message | None:
        read = self._reader.readexactly
        first = (await read(1))[0]
        fmt = first >> 6
        csid = first & 0x3F
        header_size = _MESSAGE_HEADER_SIZES[fmt]
        consumed = 1 + header_size
        if csid < MIN_CSID:
            extra = csid + 1  # csid 0: one more byte, csid 1: two more (little-endian).
            raw = await read(extra + header_size)
            csid = 64 + raw[0] + (raw[1] << 8 if extra == 2 else 0)
            header = raw[extra:]
            consumed += extra
        else:
            header = await read(header_size) if header_size else b""

        stream = self._streams.get(csid)
        if stream is None:
            if fmt != 0:
                raise ChunkError(f"type {fmt} chunk on chunk stream {csid}, which has no previous header")
            stream = self._streams[csid] = _ChunkStream()
        elif fmt != 3 and stream.received:
            raise ChunkError(f"type {fmt} header on chunk stream {csid} before its message completed")

        if fmt == 3:
            if stream.extended:
                extended_value = int.from_bytes(await read(4), "big")
                consumed += 4
                if not stream.received:
                    # ffmpeg sends a type 3 whenever both headers' 24-bit fields are 0xFFFFFF, so
                    # on a new message the extended field is the real delta, not a repeat.
                    stream.delta = extended_value
            if not stream.received:
                stream.timestamp = (stream.timestamp + stream.delta) & TIMESTAMP_MASK
        else:
            field = int.from_bytes(header[0:3], "big")
            stream.extended = field == EXTENDED_TIMESTAMP
            if stream.extended:
                field = int.from_bytes(await read(4), "big")
                consumed += 4
            stream.delta = field
            stream.timestamp = field if fmt == 0 else (stream.timestamp + field) & TIMESTAMP_MASK
            if fmt <= 1:
                length = int.from_bytes(header[3:6], "big")
                if length > self._max_message_size:
                    raise ChunkError(
                        f"message of {length} bytes exceeds the {self._max_message_size}-byte limit"
                    )
                stream.length = length
                stream.type_id = header[6]
                if fmt == 0:
                    stream.stream_id = int.from_bytes(header[7:11], "little")

        remaining = stream.length - stream.received
        size = min(remaining, self.chunk_size)
        body = await read(size) if size else b""
        self.bytes_received += consumed + size

        if size < remaining:
            if not stream.received:
                if self._partial >= self._max_partial:
                    raise ChunkError(f"more than {self._max_partial} chunk streams with partial messages")
                self._partial += 1
            stream.parts.append(body)
            stream.received += size
            return None
        if stream.received:
            stream.parts.append(body)
            body = b"".join(stream.parts)
            stream.parts = []
            stream.received = 0
            self._partial -= 1
        return Message(csid, stream.timestamp, stream.type_id, stream.stream_id, body)

    def _parse_chunk_size(self, payload: bytes) -> int:
        size = _parse_u32(payload, "Set Chunk Size")
        if size & 0x80000000 or not 1 <= size <= self._max_chunk_size:
            raise ChunkError(f"Set Chunk Size {size} outside 1..{self._max_chunk_size}")
        return size

    def _abort(self, csid: int) -> None:
        stream = self._streams.get(csid)
        if stream is not None and stream.received:
            stream.parts = []
            stream.received = 0
            self._partial -= 1


def _parse_u32(payload: bytes, what: str) -> int:
    if len(payload) < 4:
        raise ChunkError(f"{what} message of {len(payload)} bytes, need 4")
    return int.from_bytes(payload[:4], "big")


class _SentHeader:
    __slots__ = ("timestamp", "delta", "length", "type_id", "stream_id", "extended")

    def __init__(self, timestamp: int, length: int, type_id: int, stream_id: int) -> None:
        self.timestamp = timestamp
        self.delta = timestamp
        self.length = length
        self.type_id = type_id
        self.stream_id = stream_id
        self.extended = timestamp >= EXTENDED_TIMESTAMP


class ChunkWriter:
    """Chunks outgoing messages, compressing headers the way ffmpeg's writer does.

    Header compression mirrors the reader's state exactly (type 1 when only the timestamp delta,
    length or type changed, type 2 when only the delta changed, type 3 when nothing did), so a
    writer/reader pair exercises every header type.
    """

    def __init__(self) -> None:
        self.chunk_size = DEFAULT_CHUNK_SIZE
        """Outgoing chunk size; announce it with a Set Chunk Size message before changing it."""
        self._streams: dict[int, _SentHeader] = {}

    def encode(self, csid: int, timestamp: int, type_id: int, stream_id: int, payload: bytes) -> bytes:
        """``payload`` as a chunk sequence on ``csid``; timestamps wrap modulo 2^32."""
        timestamp &= TIMESTAMP_MASK
        length = len(payload)
        prev = self._streams.get(csid)
        delta = 0 if prev is None else (timestamp - prev.timestamp) & TIMESTAMP_MASK
        # A delta in the upper half of the 32-bit space is a step backwards: needs a type 0 header.
        if prev is None or prev.stream_id != stream_id or delta >= 0x80000000:
            self._streams[csid] = prev = _SentHeader(timestamp, length, type_id, stream_id)
            fmt, field, extended = 0, timestamp, prev.extended
        elif length == prev.length and type_id == prev.type_id and delta == prev.delta:
            fmt, field, extended = 3, delta, prev.extended
            prev.timestamp = timestamp
        else:
            fmt = 1 if length != prev.length or type_id != prev.type_id else 2
            field, extended = delta, delta >= EXTENDED_TIMESTAMP
            prev.timestamp, prev.delta, prev.extended = timestamp, delta, extended
            prev.length, prev.type_id = length, type_id

        header = bytearray(basic_header(fmt, csid))
        if fmt <= 2:
            header += min(field, EXTENDED_TIMESTAMP).to_bytes(3, "big")
        if fmt <= 1:
            header += length.to_bytes(3, "big")
            header.append(type_id)
        if fmt == 0:
            header += stream_id.to_bytes(4, "little")
        extended_field = field.to_bytes(4, "big") if extended else b""
        header += extended_field

        size = self.chunk_size
        parts = [bytes(header), payload[:size]]
        continuation = basic_header(3, csid) + extended_field
        for offset in range(size, length, size):
            parts.append(continuation)
            parts.append(payload[offset : offset + size])
        return b"".join(parts)
