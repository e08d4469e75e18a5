"""What the origin needs from a live stream; the packager implements it."""

from __future__ import annotations

from typing import Protocol

from packager.live.window import LiveWindow, VariantInfo


class LiveStreamView(Protocol):
    """A stream that is live (or in its reconnect grace), as the origin's routes see it."""

    def rendition(self, name: str) -> LiveWindow | None:
        """The window of rendition ``name``, or ``None`` if the stream has no such rendition."""
        ...

    def variants(self) -> list[VariantInfo]:
        """The renditions for the multivariant playlist, with their current bit rates."""
        ...

    async def wait_ready(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until every rendition has its first part."""
        ...
