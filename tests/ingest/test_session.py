"""The RTMP conversation, driven by a scripted client: replies, publish gating, media and cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from ingest.publishing import BAD_NAME
from ingest.rtmp import RtmpServer, amf0
from ingest.rtmp.chunks import ChunkWriter
from ingest.rtmp.messages import MessageType, UserControlEvent, u32, user_control
from tests.ingest.conftest import (
    AVCC,
    TEST_LIMITS,
    Connect,
    LogEntries,
    Publishers,
    RawClient,
    new_tasks,
    session_logs,
    wait_until,
)

CONNECT_OBJECT = {
    "app": "live",
    "flashVer": "FMLE/3.0",
    "tcUrl": "rtmp://127.0.0.1/live",
    "type": "nonprivate",
}


def media(client: RawClient, stream_id: int = 1) -> None:
    """Metadata, both sequence headers and one frame of each kind, as ffmpeg sends them."""
    metadata = amf0.EcmaArray(width=640.0, height=360.0, videocodecid=7.0, audiosamplerate=48000.0)
    client.send(
        8, MessageType.AMF0_DATA, amf0.encode("@setDataFrame", "onMetaData", metadata), stream_id=stream_id
    )
    client.send(6, MessageType.VIDEO, b"\x17\x00\x00\x00\x00" + AVCC, stream_id=stream_id)
    client.send(4, MessageType.AUDIO, b"\xaf\x00\x11\x90", stream_id=stream_id)
    client.send(6, MessageType.VIDEO, b"\x17\x01\x00\x00\x00idr", stream_id=stream_id, timestamp=0)
    client.send(4, MessageType.AUDIO, b"\xaf\x01aac", stream_id=stream_id, timestamp=21)


async def test_publish_conversation(server: RtmpServer, publishers: Publishers, raw_clients: Connect) -> None:
    client = await raw_clients(server.port)
    client.command("connect", 1.0, CONNECT_OBJECT)
    window = await client.read()
    bandwidth = await client.read()
    connected = await client.read()
    assert (window.type_id, window.payload) == (MessageType.WINDOW_ACK_SIZE, u32(2_500_000))
    assert (bandwidth.type_id, bandwidth.payload) == (
        MessageType.SET_PEER_BANDWIDTH,
        u32(2_500_000) + b"\x02",
    )
    assert client.chunks.chunk_size == 4096  # Set Chunk Size came before the _result
    name, transaction, properties, info = amf0.decode(connected.payload)
    assert (name, transaction) == ("_result", 1.0)
    assert isinstance(properties, dict) and properties["fmsVer"] and properties["capabilities"] == 31.0
    assert info == {
        "level": "status",
        "code": "NetConnection.Connect.Success",
        "description": "Connection succeeded.",
        "objectEncoding": 0.0,
    }

    client.command("releaseStream", 2.0, None, "key?token=1")
    assert await client.read_command() == ["_result", 2.0, None, amf0.UNDEFINED]
    client.command("FCPublish", 3.0, None, "key?token=1")
    assert await client.read_command() == [
        "onFCPublish",
        0.0,
        None,
        {"code": "NetStream.Publish.Start", "description": "key?token=1"},
    ]
    assert await client.read_command() == ["_result", 3.0, None, amf0.UNDEFINED]
    client.command("createStream", 4.0, None)
    assert await client.read_command() == ["_result", 4.0, None, 1.0]

    client.send(
        8, MessageType.AMF0_COMMAND, amf0.encode("publish", 5.0, None, "key?token=1", "live"), stream_id=1
    )
    begin = await client.read()
    assert (begin.type_id, begin.payload) == (
        MessageType.USER_CONTROL,
        user_control(UserControlEvent.STREAM_BEGIN, u32(1)),
    )
    status = await client.read()
    assert status.stream_id == 1
    assert amf0.decode(status.payload) == [
        "onStatus",
        0.0,
        None,
        {"level": "status", "code": "NetStream.Publish.Start", "description": "Publishing started."},
    ]

    media(client)
    [live] = publishers.for_key("key")  # the ?query is not part of the key
    await wait_until(lambda: len(live.packets) == 2, what="media")
    assert live.app == "live"
    assert live.metadata == [
        {"width": 640.0, "height": 360.0, "videocodecid": 7.0, "audiosamplerate": 48000.0}
    ]
    assert live.video_config is not None and live.video_config.avcc == AVCC
    assert live.audio_config is not None and live.audio_config.sample_rate == 48000
    assert [(p.kind, p.dts_ms, p.keyframe, p.data) for p in live.packets] == [
        ("video", 0, True, b"idr"),
        ("audio", 21, True, b"aac"),
    ]

    client.command("FCUnpublish", 6.0, None, "key")
    client.command("deleteStream", 7.0, None, 1.0)
    await wait_until(lambda: live.closes == 1, what="close")
    client.close()
    await wait_until(lambda: server.session_count == 0, what="session end")
    assert live.closes == 1


async def test_disconnect_without_unpublish_closes_input_once(
    server: RtmpServer, publishers: Publishers, raw_clients: Connect
) -> None:
    client = await raw_clients(server.port)
    assert (await client.publish("key"))[3]["code"] == "NetStream.Publish.Start"  # type: ignore[index]
    media(client)
    [live] = publishers.for_key("key")
    await wait_until(lambda: len(live.packets) == 2)
    client.close()
    await wait_until(lambda: server.session_count == 0)
    assert live.closes == 1


async def test_publish_again_after_unpublish_on_one_connection(
    server: RtmpServer, publishers: Publishers, raw_clients: Connect
) -> None:
    client = await raw_clients(server.port)
    await client.publish("key")
    client.command("closeStream", 0.0, None)
    await wait_until(lambda: publishers.for_key("key")[0].closes == 1)
    client.send(8, MessageType.AMF0_COMMAND, amf0.encode("publish", 9.0, None, "key", "live"), stream_id=1)
    assert (await client.read_command())[3]["code"] == "NetStream.Publish.Start"  # type: ignore[index]
    assert [i.closes for i in publishers.for_key("key")] == [1, 0]


async def test_rejected_key_gets_error_status_then_close(
    server: RtmpServer, publishers: Publishers, raw_clients: Connect, logs: LogEntries
) -> None:
    client = await raw_clients(server.port)
    status = await client.publish("wrong")
    assert status[0] == "onStatus"
    assert status[3] == {"level": "error", "code": BAD_NAME, "description": "unknown stream key"}
    await client.expect_closed()
    await wait_until(lambda: server.session_count == 0)
    assert publishers.inputs == []
    assert [e["event"] for e in session_logs(logs, client)] == ["rtmp.publish_rejected"]


async def test_second_publisher_on_a_live_key_is_rejected(
    server: RtmpServer, publishers: Publishers, raw_clients: Connect
) -> None:
    first = await raw_clients(server.port)
    await first.publish("key")
    second = await raw_clients(server.port)
    status = await second.publish("key")
    assert status[3]["level"] == "error" and status[3]["code"] == BAD_NAME  # type: ignore[index]
    await second.expect_closed()
    media(first)  # the first publisher is unaffected
    [live] = publishers.for_key("key")
    await wait_until(lambda: len(live.packets) == 2)
    assert live.closes == 0


async def test_unknown_commands_ping_and_amf3_command(server: RtmpServer, raw_clients: Connect) -> None:
    client = await raw_clients(server.port)
    # AMF3 command message (17): a format byte, then AMF0 values.
    client.send(3, MessageType.AMF3_COMMAND, b"\x00" + amf0.encode("connect", 1.0, CONNECT_OBJECT))
    assert (await client.read_command())[:2] == ["_result", 1.0]
    client.command("getStreamLength", 5.0, None, "key")
    error = await client.read_command()
    assert error[:3] == ["_error", 5.0, None]
    assert error[3]["code"] == "NetConnection.Call.Failed"  # type: ignore[index]
    client.command("noReplyWanted", 0.0, None)  # transaction 0: ignored
    client.send(2, MessageType.USER_CONTROL, user_control(UserControlEvent.PING_REQUEST, u32(123456)))
    pong = await client.read()  # proves noReplyWanted got no reply
    assert (pong.type_id, pong.payload) == (
        MessageType.USER_CONTROL,
        user_control(UserControlEvent.PING_RESPONSE, u32(123456)),
    )


async def test_acknowledgement_after_each_window(server: RtmpServer, raw_clients: Connect) -> None:
    client = await raw_clients(server.port)
    client.send(2, MessageType.WINDOW_ACK_SIZE, u32(1000))
    for _ in range(5):  # ~2.7 kB of media before publishing: read, counted, ignored
        client.send(4, MessageType.AUDIO, b"\xaf\x01" + bytes(500))
    acks = []
    for _ in range(2):
        message = await client.read()
        assert message.type_id == MessageType.ACKNOWLEDGEMENT
        acks.append(int.from_bytes(message.payload, "big"))
    assert 1000 <= acks[0] < acks[1] and acks[1] - acks[0] >= 1000


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(lambda c: c.command("publish", 5.0, None, "key", "live"), id="publish before connect"),
        pytest.param(lambda c: c.command("connect", 1.0, "not an object"), id="connect without object"),
        pytest.param(
            lambda c: c.send(3, MessageType.AMF0_COMMAND, amf0.encode(1.0, 2.0)), id="nameless command"
        ),
        pytest.param(
            lambda c: (c.command("connect", 1.0, CONNECT_OBJECT), c.command("connect", 2.0, CONNECT_OBJECT)),
            id="second connect",
        ),
    ],
)
async def test_command_protocol_errors_close_with_one_log_line(
    server: RtmpServer,
    raw_clients: Connect,
    logs: LogEntries,
    script: Callable[[RawClient], object],
) -> None:
    client = await raw_clients(server.port)
    script(client)
    await client.expect_closed()
    await wait_until(lambda: server.session_count == 0)
    [entry] = session_logs(logs, client)
    assert (entry["event"], entry["log_level"], entry["kind"]) == (
        "rtmp.protocol_error",
        "warning",
        "RtmpProtocolError",
    )


async def test_malformed_metadata_is_ignored(
    server: RtmpServer, publishers: Publishers, raw_clients: Connect
) -> None:
    client = await raw_clients(server.port)
    await client.publish("key")
    client.send(8, MessageType.AMF0_DATA, b"\x02\x00\x0d@setDataFrame\x08\x00\x00", stream_id=1)
    media(client)
    [live] = publishers.for_key("key")
    await wait_until(lambda: len(live.packets) == 2)
    assert len(live.metadata) == 1


async def test_close_ends_every_session_and_leaves_no_task(publishers: Publishers) -> None:
    baseline = asyncio.all_tasks()
    server = RtmpServer(publishers, TEST_LIMITS)
    await server.start("127.0.0.1", 0)
    publishing = await RawClient.connect(server.port)
    await publishing.publish("key")
    half_handshake = await RawClient.connect(server.port, handshake=False)
    half_handshake.writer.write(b"\x03" + bytes(10))
    mid_message = await RawClient.connect(server.port)
    mid_message.writer.write(ChunkWriter().encode(6, 0, MessageType.VIDEO, 1, bytes(500))[:100])
    await wait_until(lambda: server.session_count == 3)

    await server.close()

    assert server.session_count == 0
    assert not new_tasks(baseline)
    assert [i.closes for i in publishers.inputs] == [1]
    for client in (publishing, half_handshake, mid_message):
        await client.expect_closed(timeout=1.0)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
