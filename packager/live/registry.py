"""Every live stream this node packages, by name: the packager's public face to the node."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from packager.ladder.transcoder import TranscoderOptions
from packager.live.publish_session import PublishSession
from packager.live.stream import AlreadyPublishing, LiveStream
from packager.live.stream_recorder import StreamRecorder
from packager.metrics import LIVE_STREAMS
from tributary.settings import LiveSettings

log = structlog.get_logger(__name__)

__all__ = ["AlreadyPublishing", "LiveRegistry"]


class LiveRegistry:
    def __init__(self, settings: LiveSettings) -> None:
        self._settings = settings
        self._streams: dict[str, LiveStream] = {}

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
            ladder = self._settings.ladder
            stream = LiveStream(
                name,
                part_target=self._settings.part_target,
                segment_target=self._settings.segment_target,
                window_segments=self._settings.window_segments,
                reconnect_grace=self._settings.reconnect_grace,
                on_gone=self._forget,
                ladder=TranscoderOptions(
                    heights=tuple(ladder.heights), preset=ladder.preset, max_lag=ladder.max_lag
                ),
                recorder=new_recorder(name) if new_recorder is not None else None,
            )
            self._streams[name] = stream
            LIVE_STREAMS.inc()
            log.info("live.stream_started", stream=name)
        return await stream.open_session()

    def lookup(self, name: str) -> LiveStream | None:
        return self._streams.get(name)

    def live_names(self) -> list[str]:
        return [name for name, stream in self._streams.items() if not stream.ended]

    async def close(self) -> None:
        for stream in list(self._streams.values()):
            await stream.close()
            self._forget(stream)

    def _forget(self, stream: LiveStream) -> None:
        if self._streams.get(stream.name) is stream:
            del self._streams[stream.name]
            LIVE_STREAMS.dec()
