"""Every live stream this node packages, by name: the packager's public face to the node."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

import structlog

from packager.ladder.transcoder import TranscoderOptions
from packager.live.publish_session import PublishSession
from packager.live.stream import AlreadyPublishing, LiveStream
from packager.live.stream_recorder import StreamRecorder
from packager.metrics import LIVE_STREAMS
from tributary.settings import LiveSettings

log = structlog.get_logger(__name__)

__all__ = ["AlreadyPublishing", "LiveRegistry", "StreamLifetime", "StreamListener"]


@dataclass(frozen=True, slots=True)
class StreamLifetime:
    """A stream as its listener is told of it: once when it starts, once when it ends."""

    name: str
    started_at: datetime
    ended_at: datetime | None = None


class StreamListener(Protocol):
    """Told of streams starting (a publish that is not a return within the grace period) and
    ending (the grace period ran out, or the node closed the stream). Called on the event loop,
    so it must not block; what it raises is logged and never reaches the publisher."""

    def stream_started(self, stream: StreamLifetime) -> None: ...

    def stream_ended(self, stream: StreamLifetime) -> None: ...


class LiveRegistry:
    def __init__(self, settings: LiveSettings) -> None:
        self._settings = settings
        self._streams: dict[str, LiveStream] = {}
        self.listener: StreamListener | None = None
        """Set by the node once what it records with is open (webhooks)."""

    async def publish(
        self, name: str, *, new_recorder: Callable[[str], StreamRecorder] | None = None
    ) -> PublishSession:
        """Claim ``name`` for a new publisher; continues the stream if it is in its grace period.

        ``new_recorder(name)`` is called when this publish starts a new stream (not when it
        continues one within its grace period), to record it from its first part.
        """
        stream = self._streams.get(name)
        if stream is not None and stream.ended:
            await stream.close()  # stop its linger timer: a new stream takes the name
            self._forget(stream)
            stream = None
        if stream is None:
            started = StreamLifetime(name, datetime.now(UTC))
            ladder = self._settings.ladder
            stream = LiveStream(
                name,
                part_target=self._settings.part_target,
                segment_target=self._settings.segment_target,
                window_segments=self._settings.window_segments,
                reconnect_grace=self._settings.reconnect_grace,
                on_gone=self._forget,
                on_ended=partial(self._ended, started),
                ladder=TranscoderOptions(
                    heights=tuple(ladder.heights), preset=ladder.preset, max_lag=ladder.max_lag
                ),
                recorder=new_recorder(name) if new_recorder is not None else None,
            )
            self._streams[name] = stream
            LIVE_STREAMS.inc()
            log.info("live.stream_started", stream=name)
            self._tell(lambda listener: listener.stream_started(started))
        return await stream.open_session()

    def lookup(self, name: str) -> LiveStream | None:
        return self._streams.get(name)

    def live_names(self) -> list[str]:
        return [name for name, stream in self._streams.items() if not stream.ended]

    async def close(self) -> None:
        for stream in list(self._streams.values()):
            await stream.close()
            self._forget(stream)

    def _ended(self, started: StreamLifetime, _stream: LiveStream) -> None:
        ended = replace(started, ended_at=datetime.now(UTC))
        self._tell(lambda listener: listener.stream_ended(ended))

    def _tell(self, event: Callable[[StreamListener], None]) -> None:
        if self.listener is None:
            return
        try:
            event(self.listener)
        except Exception:
            log.exception("live.stream_listener_failed")

    def _forget(self, stream: LiveStream) -> None:
        if self._streams.get(stream.name) is stream:
            del self._streams[stream.name]
            LIVE_STREAMS.dec()
