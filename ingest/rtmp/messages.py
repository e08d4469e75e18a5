"""RTMP message type ids and the protocol control and user control message bodies.

Hand-written because no maintained Python library parses RTMP/AMF0.
Spec: Adobe RTMP 1.0 specification (December 2012), sections 5.4 (protocol control messages),
6.2 (user control messages) and 7.1 (message types).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final


class MessageType(IntEnum):
    SET_CHUNK_SIZE = 1
    ABORT = 2
    ACKNOWLEDGEMENT = 3
    USER_CONTROL = 4
    WINDOW_ACK_SIZE = 5
    SET_PEER_BANDWIDTH = 6
    AUDIO = 8
    VIDEO = 9
    AMF3_DATA = 15
    AMF3_COMMAND = 17
    AMF0_DATA = 18
    AMF0_COMMAND = 20


class UserControlEvent(IntEnum):
    STREAM_BEGIN = 0
    PING_REQUEST = 6
    PING_RESPONSE = 7


PROTOCOL_CONTROL_CSID: Final = 2
"""Protocol control and user control messages travel on chunk stream 2, message stream 0."""

PEER_BANDWIDTH_DYNAMIC: Final = 2


def u32(value: int) -> bytes:
    """Body of Set Chunk Size, Abort, Acknowledgement and Window Acknowledgement Size."""
    return (value & 0xFFFFFFFF).to_bytes(4, "big")


def set_peer_bandwidth(window: int, limit_type: int = PEER_BANDWIDTH_DYNAMIC) -> bytes:
    return u32(window) + bytes((limit_type,))


def user_control(event: UserControlEvent, data: bytes) -> bytes:
    """A user control body: the 16-bit event type, then its event data (usually a 32-bit value)."""
    return event.to_bytes(2, "big") + data
