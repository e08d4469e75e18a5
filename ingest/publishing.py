"""How an ingest protocol asks the node for permission to publish, independent of the protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from packager.media import LiveInput


class PublishRejected(Exception):
    """Publishing was refused; ``code`` is the NetStream status code an RTMP client understands."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


BAD_NAME = "NetStream.Publish.BadName"

OpenPublish = Callable[[str, str], Awaitable[LiveInput]]
"""``open_publish(app, stream_key)`` → the sink for that publish, or raises :class:`PublishRejected`.

The node implements it: it checks the key against the catalog and claims the stream in the
packager (one publisher per stream). The ingest protocol calls it once per publish command.
"""
