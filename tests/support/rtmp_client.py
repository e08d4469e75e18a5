"""A scriptable RTMP publisher built on ingest.rtmp's own chunk writer/reader and AMF0 codec.

Protocol tests use it to say exactly what a client sends (hostile input included); end-to-end
tests use it to publish real encoded media with timestamps no encoder would produce on demand
(near the 32-bit wrap, jumping).
"""

from __future__ import annotations

import asyncio
import os

from ingest.rtmp import amf0
from ingest.rtmp.chunks import ChunkReader, ChunkWriter, Message
from ingest.rtmp.handshake import HANDSHAKE_SIZE, RTMP_VERSION
from ingest.rtmp.messages import MessageType
from packager.media import AudioConfig, MediaPacket, VideoConfig

VIDEO_CSID = 6
AUDIO_CSID = 4


class RawClient:
    """A scriptable RTMP client for protocol tests and hostile input."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.chunks = ChunkReader(
            reader, idle_timeout=5.0, max_message_size=1 << 24, max_chunk_size=1 << 24, max_chunk_streams=64
        )
        self.out = ChunkWriter()
        self._reader = reader

    @classmethod
    async def connect(cls, port: int, *, handshake: bool = True) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if handshake:
            await client.handshake()
        return client

    async def handshake(self) -> None:
        self.writer.write(bytes((RTMP_VERSION,)) + os.urandom(HANDSHAKE_SIZE))
        s0s1s2 = await asyncio.wait_for(self._reader.readexactly(1 + 2 * HANDSHAKE_SIZE), 5)
        assert s0s1s2[0] == RTMP_VERSION
        self.writer.write(s0s1s2[1 : 1 + HANDSHAKE_SIZE])

    def send(
        self, csid: int, type_id: int, payload: bytes, *, stream_id: int = 0, timestamp: int = 0
    ) -> None:
        self.writer.write(self.out.encode(csid, timestamp, type_id, stream_id, payload))

    def command(self, name: str, transaction: float, *args: object, stream_id: int = 0) -> None:
        self.send(3, MessageType.AMF0_COMMAND, amf0.encode(name, transaction, *args), stream_id=stream_id)

    async def read(self) -> Message:
        return await asyncio.wait_for(self.chunks.read_message(), 5)

    async def read_command(self) -> list[object]:
        """The next command, skipping protocol control messages."""
        while True:
            message = await self.read()
            if message.type_id == MessageType.AMF0_COMMAND:
                return amf0.decode(message.payload)

    async def expect_closed(self, timeout: float = 5.0) -> None:
        """The server closes the connection within ``timeout`` (whatever it says first)."""

        async def drain() -> None:
            try:
                while await self._reader.read(65536):
                    pass
            except ConnectionError:
                pass

        await asyncio.wait_for(drain(), timeout)
        self.close()

    def close(self) -> None:
        self.writer.close()

    async def publish(self, key: str, app: str = "live") -> list[object]:
        """connect → releaseStream → FCPublish → createStream → publish, as ffmpeg does it.

        Returns the onStatus answer to publish.
        """
        self.command("connect", 1.0, {"app": app, "tcUrl": f"rtmp://127.0.0.1/{app}", "type": "nonprivate"})
        assert (await self.read_command())[0] == "_result"
        self.command("releaseStream", 2.0, None, key)
        self.command("FCPublish", 3.0, None, key)
        self.command("createStream", 4.0, None)
        while (reply := await self.read_command())[:2] != ["_result", 4.0]:
            pass
        stream_id = int(reply[3])  # type: ignore[call-overload]
        self.send(
            8, MessageType.AMF0_COMMAND, amf0.encode("publish", 5.0, None, key, "live"), stream_id=stream_id
        )
        return await self.read_command()

    def send_video_config(self, video: VideoConfig, stream_id: int = 1) -> None:
        """The FLV sequence header of the video: its AVC decoder configuration record."""
        self.send(VIDEO_CSID, MessageType.VIDEO, b"\x17\x00\x00\x00\x00" + video.avcc, stream_id=stream_id)

    def send_audio_config(self, audio: AudioConfig, stream_id: int = 1) -> None:
        """The FLV sequence header of the audio: its AudioSpecificConfig."""
        self.send(AUDIO_CSID, MessageType.AUDIO, b"\xaf\x00" + audio.asc, stream_id=stream_id)

    def send_media(self, packet: MediaPacket, timestamp: int, stream_id: int = 1) -> None:
        """One access unit as an FLV tag body (AVC NALUs with composition time, or raw AAC)."""
        if packet.kind == "video":
            frame_type = 0x17 if packet.keyframe else 0x27
            header = bytes((frame_type, 1)) + (packet.cts_ms & 0xFFFFFF).to_bytes(3, "big")
            self.send(VIDEO_CSID, MessageType.VIDEO, header + packet.data,
                      stream_id=stream_id, timestamp=timestamp)
        else:
            self.send(AUDIO_CSID, MessageType.AUDIO, b"\xaf\x01" + packet.data,
                      stream_id=stream_id, timestamp=timestamp)
