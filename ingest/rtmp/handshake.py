"""The server side of the RTMP handshake (C0/C1/C2 ↔ S0/S1/S2).

Hand-written because no maintained Python library parses RTMP/AMF0.
Spec: Adobe RTMP 1.0 specification (December 2012), section 5.2.

Only the simple handshake is spoken. Clients that attempt the digest ("complex") handshake
still succeed: S1 carries a zero version field, which tells ffmpeg and librtmp (OBS) not to
look for a server digest, and S2 echoes C1, which is what they compare against.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Final

RTMP_VERSION: Final = 3
HANDSHAKE_SIZE: Final = 1536
_ZERO_VERSION: Final = bytes(4)


class HandshakeError(Exception):
    """The peer is not speaking plain RTMP."""


async def accept_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
) -> None:
    """Complete the handshake or raise; the whole exchange shares one deadline.

    A single deadline (rather than one per read) is what bounds a client that trickles bytes.
    Raises :class:`HandshakeError`, :class:`TimeoutError` or :class:`asyncio.IncompleteReadError`.
    """
    async with asyncio.timeout(timeout):
        c0 = await reader.readexactly(1)
        if c0[0] != RTMP_VERSION:
            raise HandshakeError(
                f"unsupported RTMP version {c0[0]} (encrypted RTMP and non-RTMP clients are refused)"
            )
        c1 = await reader.readexactly(HANDSHAKE_SIZE)
        server_time = (int(time.monotonic() * 1000) & 0xFFFFFFFF).to_bytes(4, "big")
        s1 = server_time + _ZERO_VERSION + os.urandom(HANDSHAKE_SIZE - 8)
        writer.write(b"".join((c0, s1, c1)))
        await writer.drain()
        await reader.readexactly(HANDSHAKE_SIZE)  # C2 echoes S1; clients differ, so it is not checked.
