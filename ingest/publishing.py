"""How an ingest protocol asks the node for permission to publish, independent of the protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from packager.media import LiveInput


class PublishRejected(Exception):
    """Publishing was refused; ``code`` is the NetStream status code an RTMP client understands.

    ``busy`` says the key was good but the stream already has a publisher: protocols that can
    tell the two apart (WHIP: 409 rather than 401) answer differently.
    """

    def __init__(self, code: str, description: str, *, busy: bool = False) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.busy = busy


BAD_NAME = "NetStream.Publish.BadName"

OpenPublish = Callable[[str, str], Awaitable[LiveInput]]
"""``open_publish(app, stream_key)`` → the sink for that publish, or raises :class:`PublishRejected`.

The node implements it: it checks the key against the catalog and claims the stream in the
packager (one publisher per stream). The ingest protocol calls it once per publish command.
"""
