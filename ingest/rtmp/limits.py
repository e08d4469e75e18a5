"""The bounds every RTMP connection runs under, so one peer cannot hold a node's memory or tasks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RtmpLimits:
    """Timeouts in seconds, sizes in bytes.

    The defaults suit the real world: OBS and ffmpeg finish the handshake in milliseconds and
    send media continuously once publishing, a 4K keyframe stays well under 8 MiB, and neither
    uses more than a handful of chunk streams. Tests shorten the timeouts.
    """

    handshake_timeout: float = 10.0
    """The whole C0/C1/C2 exchange must finish within this."""
    idle_timeout: float = 30.0
    """Each chunk (header and body) must arrive within this, so a stalled peer is dropped."""
    write_timeout: float = 10.0
    """A peer that stops reading our replies for this long is dropped."""
    max_message_size: int = 8 * 1024 * 1024
    """Largest message length a chunk header may announce."""
    max_chunk_size: int = 16 * 1024 * 1024
    """Largest value a peer may pass in Set Chunk Size."""
    max_chunk_streams: int = 64
    """Most chunk streams that may hold a partially received message at once."""

    def __post_init__(self) -> None:
        if min(self.handshake_timeout, self.idle_timeout, self.write_timeout) <= 0:
            raise ValueError("RTMP timeouts must be positive")
        if min(self.max_message_size, self.max_chunk_size, self.max_chunk_streams) < 1:
            raise ValueError("RTMP size limits must be at least 1")
