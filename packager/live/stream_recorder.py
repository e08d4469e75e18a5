"""What the packager hands a recording: every init segment and complete segment, per rendition.

The live path stays in memory (a sliding window); a recorder keeps everything that passed
through it so the stream can become a VOD when it ends. The packager only knows these two
protocols; ``vod/`` implements them (storage, catalog), so the packager never touches storage
or the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from packager.live.window import SegmentInfo, VariantInfo


class RenditionRecorder(Protocol):
    """One rendition's recording. Called on the event loop: must not block (queue the I/O)."""

    def init_added(self, init_id: int, data: bytes) -> None: ...

    def segment_completed(self, segment: SegmentInfo, data: bytes) -> None:
        """``segment.parts`` may be empty; ``segment.discontinuity`` marks a reconnect."""
        ...


class StreamRecorder(Protocol):
    """One live stream's recording, from its first publish to the end of its grace period."""

    def rendition(self, name: str) -> RenditionRecorder:
        """Called once per rendition, when the rendition's window is created."""
        ...

    def rendition_dropped(self, name: str) -> None:
        """The rendition stopped early (shed for lack of CPU): leave it out of the VOD."""
        ...

    async def finish(self, variants: Sequence[VariantInfo]) -> None:
        """The stream ended (every window has its ENDLIST): finish writing and publish the VOD.

        ``variants`` are the renditions as the live multivariant playlist last listed them.
        Awaited by the stream's owner; it must not raise for storage or catalog failures
        (log them: a failed recording must not break the live side).
        """
        ...
