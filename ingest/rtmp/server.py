"""The RTMP listener: accepts connections and owns one session task per connection.

Hand-written because no maintained Python library parses RTMP/AMF0.
Spec: Adobe RTMP 1.0 specification (December 2012); protocol details live in the sibling modules.

Session tasks are created and tracked here rather than by ``asyncio.start_server`` so that
``close()`` can cancel every one of them and wait for their cleanup (which closes each
publisher's LiveInput), leaving no task behind.
"""

from __future__ import annotations

import asyncio

import structlog

from ingest.publishing import OpenPublish
from ingest.rtmp.limits import RtmpLimits
from ingest.rtmp.session import RtmpSession

__all__ = ["RtmpLimits", "RtmpServer"]

log = structlog.get_logger(__name__)


class RtmpServer:
    def __init__(self, open_publish: OpenPublish, limits: RtmpLimits) -> None:
        self._open_publish = open_publish
        self._limits = limits
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        """The bound port once :meth:`start` returns (useful when started on port 0)."""

    @property
    def session_count(self) -> int:
        """Connections currently being served, whatever their state."""
        return len(self._tasks)

    async def start(self, host: str, port: int) -> None:
        if self._server is not None:
            raise RuntimeError("RtmpServer already started")
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("rtmp.listening", host=host, port=self.port)

    async def close(self) -> None:
        """Stop listening, end every session (closing their LiveInputs) and wait for them."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = RtmpSession(reader, writer, self._open_publish, self._limits)
        task = asyncio.create_task(session.run(), name=f"rtmp-session-{writer.get_extra_info('peername')}")
        self._tasks.add(task)
        task.add_done_callback(self._session_done)

    def _session_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("rtmp.session_cleanup_failed", error=repr(exc))
