"""One RTMP connection: handshake, NetConnection/NetStream commands, and media to a LiveInput.

Hand-written because no maintained Python library parses RTMP/AMF0.
Specs: Adobe RTMP 1.0 specification (December 2012), sections 5.4 (protocol control), 6.2 (user
control) and 7.2 (NetConnection and NetStream commands); AMF0 specification; FLV specification
v10.1 annex E for the audio/video payloads (see :mod:`ingest.rtmp.flv_tags`).

The replies follow what OBS (librtmp) and ffmpeg wait for rather than the letter of the spec,
which never documents releaseStream/FCPublish or ``@setDataFrame``.

A session runs in a single task, so reads, replies and LiveInput calls are never concurrent.
However the connection ends, it ends with one log line, and the LiveInput (if a publish was
accepted) is closed exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final

import structlog

from ingest.metrics import PublishMeter, dropped
from ingest.publishing import OpenPublish, PublishRejected
from ingest.rtmp import amf0
from ingest.rtmp.chunks import ChunkError, ChunkReader, ChunkWriter, Message
from ingest.rtmp.flv_tags import FlvTagError, TagDemuxer
from ingest.rtmp.handshake import HandshakeError, accept_handshake
from ingest.rtmp.limits import RtmpLimits
from ingest.rtmp.messages import (
    PROTOCOL_CONTROL_CSID,
    MessageType,
    UserControlEvent,
    set_peer_bandwidth,
    u32,
    user_control,
)
from packager.media import LiveInput

log = structlog.get_logger(__name__)

WINDOW_ACK_SIZE: Final = 2_500_000
"""What we announce as our acknowledgement window and peer bandwidth (the value FMS and nginx use)."""
OUTGOING_CHUNK_SIZE: Final = 4096
_COMMAND_CSID: Final = 3
_STATUS_CSID: Final = 5
_CONNECT_PROPERTIES: Final = {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0}


class RtmpProtocolError(Exception):
    """The peer sent well-formed messages in an order or shape RTMP does not allow."""


_PROTOCOL_ERRORS: Final = (HandshakeError, ChunkError, amf0.Amf0Error, FlvTagError, RtmpProtocolError)

_Handler = Callable[["RtmpSession", Message, float, list[object]], Coroutine[Any, Any, None]]


class RtmpSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        open_publish: OpenPublish,
        limits: RtmpLimits,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._open_publish = open_publish
        self._limits = limits
        self._chunks = ChunkReader(
            reader,
            idle_timeout=limits.idle_timeout,
            max_message_size=limits.max_message_size,
            max_chunk_size=limits.max_chunk_size,
            max_chunk_streams=limits.max_chunk_streams,
        )
        self._out = ChunkWriter()
        self._peer = _peer(writer)
        self._log = log.bind(peer=self._peer)
        self._app: str | None = None
        self._next_stream_id = 1
        self._input: LiveInput | None = None
        self._demuxer: TagDemuxer | None = None
        self._ack_window = WINDOW_ACK_SIZE
        self._acked_at = 0

    async def run(self) -> None:
        """Serve the connection until the peer leaves, misbehaves or the task is cancelled."""
        phase = "handshake"
        try:
            await accept_handshake(self._reader, self._writer, self._limits.handshake_timeout)
            phase = "messages"
            await self._serve()
        except (asyncio.IncompleteReadError, ConnectionError):
            self._log.info("rtmp.disconnected", phase=phase)
        except TimeoutError:
            self._log.warning("rtmp.timeout", phase=phase)
        except PublishRejected as exc:
            self._log.info("rtmp.publish_rejected", app=self._app, code=exc.code, reason=exc.description)
        except _PROTOCOL_ERRORS as exc:
            if isinstance(exc, FlvTagError):
                dropped("rtmp", "malformed")
            self._log.warning("rtmp.protocol_error", phase=phase, error=str(exc), kind=type(exc).__name__)
        except asyncio.CancelledError:
            self._log.info("rtmp.closed_by_server", phase=phase)
            raise
        except Exception:
            self._log.exception("rtmp.session_failed", phase=phase)
        finally:
            self._end_publish()
            self._writer.close()

    async def _serve(self) -> None:
        read_message = self._chunks.read_message
        while True:
            message = await read_message()
            type_id = message.type_id
            # Media first and inline: this branch runs for nearly every message.
            if type_id == MessageType.VIDEO:
                if self._demuxer is not None:
                    self._demuxer.video(message.payload, message.timestamp)
            elif type_id == MessageType.AUDIO:
                if self._demuxer is not None:
                    self._demuxer.audio(message.payload, message.timestamp)
            else:
                await self._on_other(message)
            if self._chunks.bytes_received - self._acked_at >= self._ack_window:
                self._acked_at = self._chunks.bytes_received
                self._queue(PROTOCOL_CONTROL_CSID, MessageType.ACKNOWLEDGEMENT, 0, u32(self._acked_at))
                await self._flush()

    async def _on_other(self, message: Message) -> None:
        type_id = message.type_id
        if type_id in (MessageType.AMF0_COMMAND, MessageType.AMF3_COMMAND):
            await self._on_command(message)
        elif type_id in (MessageType.AMF0_DATA, MessageType.AMF3_DATA):
            self._on_data(message)
        elif type_id == MessageType.USER_CONTROL:
            await self._on_user_control(message.payload)
        elif type_id == MessageType.WINDOW_ACK_SIZE and len(message.payload) >= 4:
            self._ack_window = max(1, int.from_bytes(message.payload[:4], "big"))
        # Acknowledgement, Set Peer Bandwidth and unknown types need no action.

    async def _on_user_control(self, payload: bytes) -> None:
        if len(payload) >= 6 and int.from_bytes(payload[:2], "big") == UserControlEvent.PING_REQUEST:
            body = user_control(UserControlEvent.PING_RESPONSE, payload[2:6])
            self._queue(PROTOCOL_CONTROL_CSID, MessageType.USER_CONTROL, 0, body)
            await self._flush()

    def _on_data(self, message: Message) -> None:
        if self._input is None:
            return
        try:
            values = amf0.decode(_amf0_body(message))
        except amf0.Amf0Error as exc:
            self._log.warning("rtmp.malformed_data_message", error=str(exc))
            return
        if values[:1] == ["@setDataFrame"]:
            values = values[1:]
        if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
            self._input.on_metadata(dict(values[1]))
            if self._demuxer is not None:
                self._demuxer.metadata(values[1])

    async def _on_command(self, message: Message) -> None:
        values = amf0.decode(_amf0_body(message))
        if not values or not isinstance(values[0], str):
            raise RtmpProtocolError("command message does not start with a command name")
        name = values[0]
        transaction = values[1] if len(values) > 1 and isinstance(values[1], float) else 0.0
        args = values[2:]
        handler = _COMMANDS.get(name)
        if handler is None:
            self._log.debug("rtmp.unknown_command", command=name)
            if transaction:
                self._command(
                    "_error",
                    transaction,
                    None,
                    _status("error", "NetConnection.Call.Failed", f"Method not found ({name})."),
                )
                await self._flush()
            return
        if self._app is None and name != "connect":
            raise RtmpProtocolError(f"{name} before connect")
        await handler(self, message, transaction, args)

    async def _connect(self, message: Message, transaction: float, args: list[object]) -> None:
        if self._app is not None:
            raise RtmpProtocolError("second connect on one connection")
        properties = args[0] if args else None
        if not isinstance(properties, dict):
            raise RtmpProtocolError("connect without a command object")
        self._app = _app_name(properties)
        self._queue(PROTOCOL_CONTROL_CSID, MessageType.WINDOW_ACK_SIZE, 0, u32(WINDOW_ACK_SIZE))
        self._queue(
            PROTOCOL_CONTROL_CSID, MessageType.SET_PEER_BANDWIDTH, 0, set_peer_bandwidth(WINDOW_ACK_SIZE)
        )
        self._queue(PROTOCOL_CONTROL_CSID, MessageType.SET_CHUNK_SIZE, 0, u32(OUTGOING_CHUNK_SIZE))
        self._out.chunk_size = OUTGOING_CHUNK_SIZE
        # objectEncoding 0: we only speak AMF0, whatever the client offered.
        result = _status("status", "NetConnection.Connect.Success", "Connection succeeded.")
        self._command("_result", transaction, _CONNECT_PROPERTIES, {**result, "objectEncoding": 0.0})
        await self._flush()

    async def _release_stream(self, message: Message, transaction: float, args: list[object]) -> None:
        self._empty_result(transaction)
        await self._flush()

    async def _fc_publish(self, message: Message, transaction: float, args: list[object]) -> None:
        name = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        self._command("onFCPublish", 0.0, None, {"code": "NetStream.Publish.Start", "description": name})
        self._empty_result(transaction)
        await self._flush()

    async def _create_stream(self, message: Message, transaction: float, args: list[object]) -> None:
        stream_id = self._next_stream_id
        self._next_stream_id += 1
        self._command("_result", transaction, None, float(stream_id))
        await self._flush()

    async def _publish(self, message: Message, transaction: float, args: list[object]) -> None:
        if self._input is not None:
            raise RtmpProtocolError("publish while already publishing")
        if len(args) < 2 or not isinstance(args[1], str):
            raise RtmpProtocolError("publish without a stream name")
        assert self._app is not None  # _on_command refuses everything but connect before connect.
        key = args[1].partition("?")[0]
        stream_id = message.stream_id
        try:
            live_input = await self._open_publish(self._app, key)
        except PublishRejected as exc:
            self._on_status(stream_id, _status("error", exc.code, exc.description))
            await self._flush()
            raise
        self._input = live_input
        meter = PublishMeter("rtmp", live_input.stream)
        self._demuxer = TagDemuxer(live_input, self._log, self._peer, meter=meter)
        self._log.info("rtmp.publish_started", app=self._app)
        stream_begin = user_control(UserControlEvent.STREAM_BEGIN, u32(stream_id))
        self._queue(PROTOCOL_CONTROL_CSID, MessageType.USER_CONTROL, 0, stream_begin)
        self._on_status(stream_id, _status("status", "NetStream.Publish.Start", "Publishing started."))
        await self._flush()

    async def _unpublish(self, message: Message, transaction: float, args: list[object]) -> None:
        self._end_publish()

    def _end_publish(self) -> None:
        live_input, demuxer = self._input, self._demuxer
        self._input = self._demuxer = None
        if demuxer is not None:
            demuxer.close()
        if live_input is not None:
            self._log.info("rtmp.publish_stopped", app=self._app)
            live_input.close()

    def _empty_result(self, transaction: float) -> None:
        """The bare ``_result`` librtmp and ffmpeg expect; transaction 0 means no reply is wanted."""
        if transaction:
            self._command("_result", transaction, None, amf0.UNDEFINED)

    def _command(self, name: str, transaction: float, *args: object) -> None:
        self._queue(_COMMAND_CSID, MessageType.AMF0_COMMAND, 0, amf0.encode(name, transaction, *args))

    def _on_status(self, stream_id: int, info: dict[str, object]) -> None:
        self._queue(
            _STATUS_CSID, MessageType.AMF0_COMMAND, stream_id, amf0.encode("onStatus", 0.0, None, info)
        )

    def _queue(self, csid: int, type_id: int, stream_id: int, payload: bytes) -> None:
        self._writer.write(self._out.encode(csid, 0, type_id, stream_id, payload))

    async def _flush(self) -> None:
        async with asyncio.timeout(self._limits.write_timeout):
            await self._writer.drain()


_COMMANDS: Final[dict[str, _Handler]] = {
    "connect": RtmpSession._connect,
    "releaseStream": RtmpSession._release_stream,
    "FCPublish": RtmpSession._fc_publish,
    "createStream": RtmpSession._create_stream,
    "publish": RtmpSession._publish,
    "FCUnpublish": RtmpSession._unpublish,
    "deleteStream": RtmpSession._unpublish,
    "closeStream": RtmpSession._unpublish,
}


def _status(level: str, code: str, description: str) -> dict[str, object]:
    return {"level": level, "code": code, "description": description}


def _amf0_body(message: Message) -> bytes:
    """AMF3 command/data messages (17, 15) start with a format byte and then carry AMF0 values."""
    if message.type_id in (MessageType.AMF3_COMMAND, MessageType.AMF3_DATA):
        return message.payload[1:]
    return message.payload


def _app_name(properties: dict[str, object]) -> str:
    """The application: connect's ``app``, else the path of ``tcUrl``; without query or slashes."""
    app = properties.get("app")
    if not isinstance(app, str) or not app:
        tc_url = properties.get("tcUrl")
        path = tc_url.split("://", 1)[-1].partition("/")[2] if isinstance(tc_url, str) else ""
        app = path
    return app.partition("?")[0].strip("/")


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
