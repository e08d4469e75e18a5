"""RTMP test kit: a recording LiveInput, a gatekeeping open_publish, a raw RTMP client built on
ingest.rtmp's own chunk writer/reader and AMF0 codec, and ffmpeg publishes with an FLV copy of
exactly what was sent."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from ingest.publishing import BAD_NAME, PublishRejected
from ingest.rtmp import RtmpLimits, RtmpServer, amf0
from ingest.rtmp.messages import MessageType
from packager.media import AudioConfig, MediaPacket, VideoConfig
from tests.support.ffmpeg import Source
from tests.support.rtmp_client import RawClient

Event = tuple[object, ...]
LogEntries = list[MutableMapping[str, Any]]

# Parameter sets ingest never decodes (only the record around them is checked) and their record.
SPS = bytes.fromhex("6764001eacd940a02ff9")
PPS = bytes.fromhex("68ebe3cb22c0")
AVCC = (
    bytes([1, 0x64, 0x00, 0x1E, 0xFF, 0xE1])
    + len(SPS).to_bytes(2, "big")
    + SPS
    + b"\x01"
    + len(PPS).to_bytes(2, "big")
    + PPS
)


@dataclass
class RecordingInput:
    """A LiveInput that only records what arrived, in order."""

    app: str
    key: str
    events: list[Event] = field(default_factory=list)
    metadata: list[dict[str, object]] = field(default_factory=list)
    packets: list[MediaPacket] = field(default_factory=list)
    video_config: VideoConfig | None = None
    audio_config: AudioConfig | None = None
    closes: int = 0

    @property
    def stream(self) -> str:
        return f"stream-{self.key}"

    def on_metadata(self, metadata: dict[str, object]) -> None:
        self.metadata.append(metadata)
        self.events.append(("metadata",))

    def on_video_config(self, config: VideoConfig) -> None:
        self.video_config = config
        self.events.append(("video_config", config.avcc))

    def on_audio_config(self, config: AudioConfig) -> None:
        self.audio_config = config
        self.events.append(("audio_config", config.asc))

    def on_packet(self, packet: MediaPacket) -> None:
        self.packets.append(packet)
        self.events.append((packet.kind, packet.dts_ms, packet.cts_ms, packet.keyframe, packet.data))

    def close(self) -> None:
        self.closes += 1


class Publishers:
    """``open_publish`` for tests: known keys only, one live publisher per key (like the node)."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys
        self.inputs: list[RecordingInput] = []

    async def __call__(self, app: str, key: str) -> RecordingInput:
        if key not in self.keys:
            raise PublishRejected(BAD_NAME, "unknown stream key")
        if any(i.key == key and not i.closes for i in self.inputs):
            raise PublishRejected(BAD_NAME, f"{key} is already being published")
        live = RecordingInput(app, key)
        self.inputs.append(live)
        return live

    def for_key(self, key: str) -> list[RecordingInput]:
        return [i for i in self.inputs if i.key == key]


TEST_LIMITS = RtmpLimits(
    handshake_timeout=0.5,
    idle_timeout=1.5,
    write_timeout=1.0,
    max_message_size=512 * 1024,
    max_chunk_size=1024 * 1024,
    max_chunk_streams=8,
)


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def session_logs(logs: LogEntries, client: RawClient) -> LogEntries:
    """The INFO-and-above log entries of the server-side session serving ``client``."""
    host, port = client.writer.get_extra_info("sockname")[:2]
    return [e for e in logs if e.get("peer") == f"{host}:{port}" and e["log_level"] != "debug"]


def new_tasks(baseline: set[asyncio.Task[object]]) -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - baseline - {asyncio.current_task()}


@pytest.fixture
def logs() -> Iterator[LogEntries]:
    with capture_logs() as captured:
        yield captured


@pytest.fixture
def publishers() -> Publishers:
    return Publishers({"key", "other"})


@pytest.fixture
async def server(publishers: Publishers) -> AsyncIterator[RtmpServer]:
    """A server under TEST_LIMITS; on teardown, no session and no task may outlive close()."""
    baseline = asyncio.all_tasks()
    rtmp = RtmpServer(publishers, TEST_LIMITS)
    await rtmp.start("127.0.0.1", 0)
    yield rtmp
    await rtmp.close()
    assert rtmp.session_count == 0
    assert not new_tasks(baseline)
    assert all(i.closes == 1 for i in publishers.inputs)


Connect = Callable[..., Awaitable[RawClient]]
"""``await connect(port, handshake=True)`` → a RawClient, closed after the test."""


@pytest.fixture
async def raw_clients() -> AsyncIterator[Connect]:
    clients: list[RawClient] = []

    async def connect(port: int, *, handshake: bool = True) -> RawClient:
        client = await RawClient.connect(port, handshake=handshake)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def ffmpeg_tee_args(source: Source, url: str, copy: Path) -> list[str]:
    """``source``'s ffmpeg command, with the FLV it publishes also written to ``copy``.

    The copy is the ground truth for "timestamps, composition times, keyframes and payloads as
    sent": every FLV tag in it is one RTMP message ffmpeg sent.
    """
    args = source.args(url)
    assert args[-3:] == ["-f", "flv", url]
    tee = f"[f=flv]{url}|[f=flv]{copy}"
    return [*args[:-3], "-map", "0:v", "-map", "1:a", "-flags", "+global_header", "-f", "tee", tee]


def flv_file_events(path: Path) -> list[Event]:
    """The events a RecordingInput should see for an FLV file (FLV spec v10.1 annex E)."""
    data = path.read_bytes()
    assert data[:3] == b"FLV"
    pos = int.from_bytes(data[5:9], "big") + 4
    events: list[Event] = []
    while pos + 11 <= len(data):
        tag_type = data[pos] & 0x1F
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        timestamp = int.from_bytes(data[pos + 4 : pos + 7], "big") | data[pos + 7] << 24
        body = data[pos + 11 : pos + 11 + size]
        pos += 11 + size + 4
        if tag_type == 18:
            events.append(("metadata",))
        elif tag_type == 9 and body[1] == 0:
            events.append(("video_config", body[5:]))
        elif tag_type == 9 and body[1] == 1:
            cts = int.from_bytes(body[2:5], "big", signed=True)
            events.append(("video", timestamp, cts, body[0] >> 4 == 1, body[5:]))
        elif tag_type == 8 and body[1] == 0:
            events.append(("audio_config", body[2:]))
        elif tag_type == 8:
            events.append(("audio", timestamp, 0, True, body[2:]))
    return events
