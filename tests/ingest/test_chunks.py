"""Chunk stream reader/writer (RTMP 1.0 spec section 5.3) against literal bytes and each other."""

from __future__ import annotations

import asyncio

import pytest

from ingest.rtmp.chunks import ChunkError, ChunkReader, ChunkWriter, Message, basic_header
from ingest.rtmp.messages import MessageType, u32


def reader_for(data: bytes, *, max_message_size: int = 1 << 20, max_chunk_streams: int = 8) -> ChunkReader:
    stream = asyncio.StreamReader()
    stream.feed_data(data)
    stream.feed_eof()
    return ChunkReader(
        stream,
        idle_timeout=1.0,
        max_message_size=max_message_size,
        max_chunk_size=1 << 20,
        max_chunk_streams=max_chunk_streams,
    )


async def read_all(reader: ChunkReader) -> list[Message]:
    messages = []
    with pytest.raises(asyncio.IncompleteReadError):
        while True:
            messages.append(await reader.read_message())
    return messages


def fmt_of(encoded: bytes) -> int:
    return encoded[0] >> 6


async def test_header_types_0_to_3_round_trip() -> None:
    writer = ChunkWriter()
    plan = [  # (timestamp, length, expected header type)
        (1000, 100, 0),  # first message on the chunk stream
        (1033, 200, 1),  # length changed
        (1066, 200, 3),  # same delta, length and type
        (1100, 200, 2),  # only the delta changed
        (1134, 200, 3),
        (1200, 200, 2),
        (900, 200, 0),  # backwards: needs an absolute timestamp
    ]
    encoded = []
    for timestamp, length, expected in plan:
        chunk = writer.encode(6, timestamp, MessageType.VIDEO, 1, bytes([timestamp % 251]) * length)
        assert fmt_of(chunk) == expected, (timestamp, length)
        encoded.append(chunk)
    messages = await read_all(reader_for(b"".join(encoded)))
    assert [(m.timestamp, len(m.payload), m.csid, m.stream_id, m.type_id) for m in messages] == [
        (timestamp, length, 6, 1, MessageType.VIDEO) for timestamp, length, _ in plan
    ]
    assert all(m.payload == bytes([m.timestamp % 251]) * len(m.payload) for m in messages)


async def test_type_3_after_type_0_adds_the_type_0_timestamp() -> None:
    # Spec 5.3.1.2.4: after a type 0 header, a type 3 new message uses its timestamp as the delta.
    data = (
        basic_header(0, 4) + (40).to_bytes(3, "big") + (1).to_bytes(3, "big") + b"\x08" + u32(1)[::-1] + b"a"
    )
    data += basic_header(3, 4) + b"b"
    messages = await read_all(reader_for(data))
    assert [(m.timestamp, m.payload) for m in messages] == [(40, b"a"), (80, b"b")]


async def test_extended_timestamps_literal_bytes() -> None:
    """Type 0 with an extended timestamp, a type 3 continuation and a type 3 new message all carry it."""
    body = bytes(range(200))
    data = (
        b"\x06"  # fmt 0, csid 6
        + b"\xff\xff\xff"
        + (200).to_bytes(3, "big")
        + b"\x09"
        + b"\x01\x00\x00\x00"
        + b"\x01\x02\x03\x04"  # extended timestamp
        + body[:128]
        + b"\xc6\x01\x02\x03\x04"  # type 3 continuation repeats the extended field
        + body[128:]
        + b"\xc6\x01\x00\x00\x00"  # type 3 new message: delta from its extended field
        + body[:128]
        + b"\xc6\x01\x00\x00\x00"
        + body[128:]
    )
    messages = await read_all(reader_for(data))
    assert [(m.timestamp, m.payload, m.stream_id, m.csid) for m in messages] == [
        (0x01020304, body, 1, 6),
        (0x02020304, body, 1, 6),
    ]


async def test_writer_extended_timestamps_round_trip() -> None:
    writer = ChunkWriter()
    payload = bytes(300)
    first = writer.encode(4, 0x01000000, MessageType.AUDIO, 1, payload)
    # 12-byte header + 4 extended, then two continuations each with basic header + extended field.
    assert len(first) == 12 + 4 + 300 + 2 * (1 + 4)
    assert first[1:4] == b"\xff\xff\xff"
    second = writer.encode(4, 0x02000000, MessageType.AUDIO, 1, payload)  # delta 0x01000000: type 3
    third = writer.encode(4, 0x02000010, MessageType.AUDIO, 1, payload)  # small delta: type 2, no extension
    assert (fmt_of(second), fmt_of(third)) == (3, 2)
    assert len(third) == 4 + 300 + 2
    messages = await read_all(reader_for(first + second + third))
    assert [m.timestamp for m in messages] == [0x01000000, 0x02000000, 0x02000010]


async def test_timestamp_wraps_modulo_2_32() -> None:
    writer = ChunkWriter()
    stamps = [0xFFFFFFC0, 0xFFFFFFE0, 0x00000000, 0x00000020, 0x00000041]
    encoded = [writer.encode(4, t, MessageType.AUDIO, 1, b"x") for t in stamps]
    assert [fmt_of(e) for e in encoded] == [0, 2, 3, 3, 2]  # wrapping forwards is a small delta
    messages = await read_all(reader_for(b"".join(encoded)))
    assert [m.timestamp for m in messages] == stamps


@pytest.mark.parametrize("csid", [2, 63, 64, 319, 320, 65599])
async def test_one_two_and_three_byte_chunk_stream_ids(csid: int) -> None:
    header = basic_header(0, csid)
    assert len(header) == (1 if csid < 64 else 2 if csid < 320 else 3)
    writer = ChunkWriter()
    data = writer.encode(csid, 5, MessageType.VIDEO, 1, bytes(300)) + writer.encode(
        csid, 10, MessageType.VIDEO, 1, b"z"
    )
    messages = await read_all(reader_for(data))
    assert [(m.csid, m.timestamp, len(m.payload)) for m in messages] == [(csid, 5, 300), (csid, 10, 1)]


@pytest.mark.parametrize("csid", [0, 1, 65600])
def test_basic_header_rejects_reserved_ids(csid: int) -> None:
    with pytest.raises(ValueError):
        basic_header(0, csid)


async def test_set_chunk_size_applies_to_following_chunks_and_writer_splits() -> None:
    writer = ChunkWriter()
    data = writer.encode(2, 0, MessageType.SET_CHUNK_SIZE, 0, u32(4096))
    writer.chunk_size = 4096
    big = writer.encode(6, 0, MessageType.VIDEO, 1, bytes(10_000))
    assert len(big) == 12 + 10_000 + 2  # three chunks: two 1-byte continuation headers
    reader = reader_for(data + big)
    message = await reader.read_message()
    assert (reader.chunk_size, len(message.payload)) == (4096, 10_000)
    assert reader.bytes_received == len(data) + len(big)


async def test_abort_drops_the_partial_message() -> None:
    writer = ChunkWriter()
    partial = writer.encode(6, 0, MessageType.VIDEO, 1, bytes(200))[: 12 + 128]
    abort = writer.encode(2, 0, MessageType.ABORT, 0, u32(6))
    after = ChunkWriter().encode(6, 7, MessageType.VIDEO, 1, b"fresh")
    messages = await read_all(reader_for(partial + abort + after))
    assert [(m.timestamp, m.payload) for m in messages] == [(7, b"fresh")]


async def test_interleaved_chunk_streams() -> None:
    writer = ChunkWriter()
    video = writer.encode(6, 0, MessageType.VIDEO, 1, b"v" * 200)
    audio = writer.encode(4, 0, MessageType.AUDIO, 1, b"a" * 10)
    # The video message's first chunk, the whole audio message, then the video continuation.
    data = video[: 12 + 128] + audio + video[12 + 128 :]
    messages = await read_all(reader_for(data))
    assert [(m.type_id, m.payload) for m in messages] == [
        (MessageType.AUDIO, b"a" * 10),
        (MessageType.VIDEO, b"v" * 200),
    ]


async def test_zero_length_message() -> None:
    messages = await read_all(reader_for(ChunkWriter().encode(3, 0, MessageType.AMF0_COMMAND, 0, b"")))
    assert messages[0].payload == b""


@pytest.mark.parametrize("size", [0, 2**31, 2**31 + 128, (1 << 20) + 1])
async def test_absurd_set_chunk_size_is_refused(size: int) -> None:
    data = ChunkWriter().encode(2, 0, MessageType.SET_CHUNK_SIZE, 0, u32(size))
    with pytest.raises(ChunkError, match="Set Chunk Size"):
        await reader_for(data).read_message()


async def test_short_control_message_is_refused() -> None:
    data = ChunkWriter().encode(2, 0, MessageType.SET_CHUNK_SIZE, 0, b"\x00\x10")
    with pytest.raises(ChunkError):
        await reader_for(data).read_message()


@pytest.mark.parametrize("fmt", [1, 2, 3])
async def test_compressed_header_on_unknown_chunk_stream_is_refused(fmt: int) -> None:
    with pytest.raises(ChunkError, match="no previous header"):
        await reader_for(basic_header(fmt, 9) + bytes(16)).read_message()


async def test_message_larger_than_the_limit_is_refused_before_its_body() -> None:
    data = ChunkWriter().encode(6, 0, MessageType.VIDEO, 1, bytes(1001))[:12]
    with pytest.raises(ChunkError, match="exceeds"):
        await reader_for(data, max_message_size=1000).read_message()


async def test_new_header_before_message_completes_is_refused() -> None:
    writer = ChunkWriter()
    first = writer.encode(6, 0, MessageType.VIDEO, 1, bytes(200))[: 12 + 128]
    second = ChunkWriter().encode(6, 0, MessageType.VIDEO, 1, b"x")
    with pytest.raises(ChunkError, match="before its message completed"):
        await reader_for(first + second).read_message()


async def test_too_many_partial_chunk_streams_are_refused() -> None:
    writer = ChunkWriter()
    data = b"".join(
        writer.encode(csid, 0, MessageType.VIDEO, 1, bytes(200))[: 12 + 128] for csid in range(3, 12)
    )
    reader = reader_for(data, max_chunk_streams=8)
    with pytest.raises(ChunkError, match="partial"):
        await reader.read_message()


async def test_completed_messages_free_their_partial_slot() -> None:
    writer = ChunkWriter()
    data = b"".join(writer.encode(csid, 0, MessageType.VIDEO, 1, bytes(200)) for csid in range(3, 40))
    assert len(await read_all(reader_for(data, max_chunk_streams=1))) == 37


async def test_stalled_chunk_times_out() -> None:
    stream = asyncio.StreamReader()
    stream.feed_data(ChunkWriter().encode(6, 0, MessageType.VIDEO, 1, bytes(200))[:50])
    reader = ChunkReader(
        stream, idle_timeout=0.05, max_message_size=1000, max_chunk_size=1000, max_chunk_streams=2
    )
    with pytest.raises(TimeoutError):
        await reader.read_message()
