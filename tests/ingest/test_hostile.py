"""Hostile and broken connections, each while a real ffmpeg publish runs on another connection.

Every attack must end in the server closing that connection with one log line, the session count
back to the baseline, no task left behind, and the healthy publisher still delivering packets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.testing import capture_logs

from ingest.rtmp import RtmpServer, amf0
from ingest.rtmp.chunks import basic_header
from ingest.rtmp.messages import MessageType, u32
from tests.ingest.conftest import (
    TEST_LIMITS,
    Connect,
    LogEntries,
    Publishers,
    RawClient,
    RecordingInput,
    new_tasks,
    session_logs,
    wait_until,
)
from tests.support.ffmpeg import Source, publish, start_publish


@dataclass
class Rig:
    server: RtmpServer
    healthy: RecordingInput
    url: str


@pytest.fixture(scope="module")
async def rig() -> AsyncIterator[Rig]:
    publishers = Publishers({"healthy"})
    server = RtmpServer(publishers, TEST_LIMITS)
    await server.start("127.0.0.1", 0)
    url = f"rtmp://127.0.0.1:{server.port}/live/healthy"
    ffmpeg = await start_publish(url, Source(seconds=120))
    try:
        await wait_until(lambda: any(len(i.packets) > 20 for i in publishers.inputs), 20, "healthy publish")
        [healthy] = publishers.inputs
        yield Rig(server, healthy, url)
    finally:
        ffmpeg.terminate()
        await ffmpeg.wait()
        await server.close()
    assert healthy.closes == 1


@dataclass
class Attack:
    logs: LogEntries

    def only_log_line(self, client: RawClient) -> MutableMapping[str, Any]:
        [entry] = session_logs(self.logs, client)
        return entry


@pytest.fixture
async def attack(rig: Rig) -> AsyncIterator[Attack]:
    """Checks, after the attack, that nothing leaked and the healthy publish kept flowing."""
    baseline_tasks = asyncio.all_tasks()
    baseline_sessions = rig.server.session_count
    packets_before = len(rig.healthy.packets)
    with capture_logs() as logs:
        yield Attack(logs)
    await wait_until(
        lambda: rig.server.session_count == baseline_sessions, what="session count back to baseline"
    )
    await wait_until(lambda: not new_tasks(baseline_tasks), what="no leftover task")
    await wait_until(lambda: len(rig.healthy.packets) > packets_before + 10, what="healthy packets")
    assert rig.healthy.closes == 0


def assert_protocol_error(attack: Attack, client: RawClient, match: str) -> None:
    entry = attack.only_log_line(client)
    assert (entry["event"], entry["log_level"]) == ("rtmp.protocol_error", "warning")
    assert match in str(entry["error"])


async def test_garbage_instead_of_handshake(rig: Rig, attack: Attack, raw_clients: Connect) -> None:
    client = await raw_clients(rig.server.port, handshake=False)
    client.writer.write(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    await client.expect_closed(timeout=TEST_LIMITS.handshake_timeout / 2)
    assert_protocol_error(attack, client, "unsupported RTMP version")


async def test_truncated_handshake_then_silence(rig: Rig, attack: Attack, raw_clients: Connect) -> None:
    client = await raw_clients(rig.server.port, handshake=False)
    client.writer.write(b"\x03" + bytes(700))
    started = asyncio.get_running_loop().time()
    await client.expect_closed()
    assert asyncio.get_running_loop().time() - started >= TEST_LIMITS.handshake_timeout * 0.9
    entry = attack.only_log_line(client)
    assert (entry["event"], entry["phase"]) == ("rtmp.timeout", "handshake")


@pytest.mark.parametrize("size", [0, 2**31, TEST_LIMITS.max_chunk_size + 1])
async def test_absurd_set_chunk_size(rig: Rig, attack: Attack, raw_clients: Connect, size: int) -> None:
    client = await raw_clients(rig.server.port)
    client.send(2, MessageType.SET_CHUNK_SIZE, u32(size))
    await client.expect_closed()
    assert_protocol_error(attack, client, "Set Chunk Size")


async def test_type_3_chunk_on_unknown_chunk_stream(rig: Rig, attack: Attack, raw_clients: Connect) -> None:
    client = await raw_clients(rig.server.port)
    client.writer.write(basic_header(3, 7) + bytes(64))
    await client.expect_closed()
    assert_protocol_error(attack, client, "no previous header")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(amf0.encode("connect", 1.0) + b"\x03\x00\x03app\x02\x00\x10li", id="truncated string"),
        pytest.param(amf0.encode("connect", 1.0) + b"\x0a\x00\x00\x00\x01" * 5000, id="nesting bomb"),
        pytest.param(amf0.encode("connect", 1.0) + b"\x0a\xff\xff\xff\xff", id="huge array count"),
        pytest.param(amf0.encode("connect", 1.0) + b"\x11\x0a\x0b\x01", id="amf3 object"),
    ],
)
async def test_malformed_amf0_connect(rig: Rig, attack: Attack, raw_clients: Connect, body: bytes) -> None:
    client = await raw_clients(rig.server.port)
    client.send(3, MessageType.AMF0_COMMAND, body)
    await client.expect_closed()
    entry = attack.only_log_line(client)
    assert (entry["event"], entry["kind"]) == ("rtmp.protocol_error", "Amf0Error")


async def test_message_larger_than_the_limit(rig: Rig, attack: Attack, raw_clients: Connect) -> None:
    client = await raw_clients(rig.server.port)
    client.send(6, MessageType.VIDEO, bytes(TEST_LIMITS.max_message_size + 1), stream_id=1)
    await client.expect_closed()
    assert_protocol_error(attack, client, "exceeds")


async def test_stall_mid_message(rig: Rig, attack: Attack, raw_clients: Connect) -> None:
    client = await raw_clients(rig.server.port)
    client.writer.write(client.out.encode(6, 0, MessageType.VIDEO, 1, bytes(1000))[: 12 + 128])
    started = asyncio.get_running_loop().time()
    await client.expect_closed()
    assert asyncio.get_running_loop().time() - started >= TEST_LIMITS.idle_timeout * 0.9
    entry = attack.only_log_line(client)
    assert (entry["event"], entry["phase"]) == ("rtmp.timeout", "messages")


async def test_many_chunk_streams_at_once(rig: Rig, attack: Attack, raw_clients: Connect) -> None:
    client = await raw_clients(rig.server.port)
    for csid in range(3, 3 + TEST_LIMITS.max_chunk_streams + 1):
        client.writer.write(client.out.encode(csid, 0, MessageType.VIDEO, 1, bytes(1000))[: 12 + 128])
    await client.expect_closed()
    assert_protocol_error(attack, client, "partial")


async def test_peer_that_never_reads_replies(rig: Rig, attack: Attack, raw_clients: Connect) -> None:
    client = await raw_clients(rig.server.port)
    client.command("connect", 1.0, {"app": "live"})
    request = client.out.encode(3, 0, MessageType.AMF0_COMMAND, 0, amf0.encode("nope", 2.0, None))
    try:
        for _ in range(200):  # each earns a ~100-byte _error that is never read
            client.writer.write(request * 200)
            await asyncio.wait_for(client.writer.drain(), TEST_LIMITS.write_timeout * 3)
    except (ConnectionError, TimeoutError):
        pass
    await client.expect_closed()
    entry = attack.only_log_line(client)
    assert (entry["event"], entry["phase"]) == ("rtmp.timeout", "messages")


async def test_second_ffmpeg_on_the_live_key_is_rejected(rig: Rig, attack: Attack) -> None:
    code, err = await publish(rig.url, Source(seconds=1))
    assert code != 0
    assert "already being published" in err
