"""One publisher's connection as the packager sees it: the LiveInput an ingest protocol feeds.

The session maps the publisher's timestamps onto the stream's timeline (on the loop, cheap) and
hands packets to its mux worker (a thread) for the passthrough rendition, and video to its
ladder (decode once, encode each rung: threads too) for the encoded ones. Completed parts come
back to the loop and go into the stream's windows. A session lives from publish to disconnect;
the stream outlives it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from typing import TYPE_CHECKING

import structlog

from packager.cmaf_muxer import TimedPacket
from packager.ladder.rungs import Rung
from packager.ladder.transcoder import TranscoderOptions
from packager.live.ladder_outputs import LadderOutputs
from packager.live.mux_worker import MuxerOutput, MuxWorker
from packager.media import AudioConfig, MediaPacket, VideoConfig
from packager.metrics import DROPPED_FRAMES
from packager.timeline import Timeline

if TYPE_CHECKING:
    from packager.live.stream import LiveStream

log = structlog.get_logger(__name__)

_NO_CONFIG = {kind: DROPPED_FRAMES.labels(kind, "no_config") for kind in ("video", "audio")}
_AUDIO_AHEAD = DROPPED_FRAMES.labels("audio", "audio_ahead")


class PublishSession:
    def __init__(
        self,
        stream: LiveStream,
        *,
        start_ms: int,
        part_target: float,
        ladder: TranscoderOptions | None = None,
    ) -> None:
        self._stream = stream
        self._start_ms = start_ms
        self._part_target = part_target
        self._ladder_options = ladder
        self._ladder: LadderOutputs | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._worker = MuxWorker(
            stream.name, asyncio.get_running_loop(), self._deliver, part_target=part_target
        )
        self._video: VideoConfig | None = None
        self._audio: AudioConfig | None = None
        self._timeline: Timeline | None = None
        self._closed = False
        self._media_end = start_ms / 1000
        self.metadata: dict[str, object] = {}
        self.packets = 0
        self.part_latencies: deque[float] = deque(maxlen=2048)
        """Seconds from the arrival of the packet that completes a part (the first one after it)
        to the part being in the window: the packager's own delay, one frame hold-back included."""

    # LiveInput -----------------------------------------------------------------------------

    def on_metadata(self, metadata: dict[str, object]) -> None:
        self.metadata = dict(metadata)

    def on_video_config(self, config: VideoConfig) -> None:
        self._set_config(config, self._audio)

    def on_audio_config(self, config: AudioConfig) -> None:
        self._set_config(self._video, config)

    def on_packet(self, packet: MediaPacket) -> None:
        if self._closed:
            return
        if self._timeline is None:
            if packet.kind == "video" and self._video is None:
                _NO_CONFIG["video"].inc()
                return  # media before its configuration cannot be muxed
            if packet.kind == "audio" and self._audio is None:
                _NO_CONFIG["audio"].inc()
                return
            self._timeline = Timeline(
                self._start_ms, self._audio.sample_rate if self._audio else None
            )
            self._worker.start(self._video, self._audio)
            self._start_ladder()
        self.packets += 1
        if packet.kind == "video" and self._video is not None:
            dts, pts = self._timeline.video(packet)
            timed = TimedPacket("video", dts, pts, packet.keyframe, packet.data)
            self._worker.put(timed)
            if self._ladder is not None:
                self._ladder.video(timed)
        elif packet.kind == "audio" and self._audio is not None:
            dts = self._timeline.audio(packet)
            if dts is None:
                _AUDIO_AHEAD.inc()
                return
            timed = TimedPacket("audio", dts, dts, True, packet.data)
            self._worker.put(timed)
            if self._ladder is not None:
                self._ladder.audio(timed)
        else:  # a track this session has no configuration for
            _NO_CONFIG[packet.kind].inc()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stream.session_closed(self)

    @property
    def stream(self) -> str:
        return self._stream.name

    # ---------------------------------------------------------------------------------------

    async def finish(self) -> float:
        """Flush the workers; returns where this session's media ended (seconds)."""
        await self._worker.stop()
        if self._ladder is not None:
            await self._ladder.stop()
        if self._retiring:
            await asyncio.gather(*self._retiring)
        return self._media_end

    @property
    def ladder(self) -> LadderOutputs | None:
        return self._ladder

    @property
    def video(self) -> VideoConfig | None:
        return self._video

    @property
    def audio(self) -> AudioConfig | None:
        return self._audio

    @property
    def timestamp_jumps(self) -> int:
        return self._timeline.jumps if self._timeline else 0

    def _set_config(self, video: VideoConfig | None, audio: AudioConfig | None) -> None:
        changed = (video, audio) != (self._video, self._audio)
        self._video, self._audio = video, audio
        if changed and self._timeline is not None and not self._closed:
            log.info("packager.codec_config_changed", stream=self._stream.name)
            if audio is not None:
                self._timeline.audio_configured(audio.sample_rate)
            self._worker.reconfigure(video, audio)
            self._retire_ladder()
            self._start_ladder()

    def _start_ladder(self) -> None:
        """Encoded renditions, when a ladder is configured and there is video to encode."""
        if self._ladder_options is None or not self._ladder_options.heights or self._video is None:
            self._stream.ladder_planned(())
            return
        self._ladder = LadderOutputs(
            self._stream.name,
            self._video,
            self._audio,
            self,
            part_target=self._part_target,
            options=self._ladder_options,
        )

    def _retire_ladder(self) -> None:
        """The source changed codec configuration: the old ladder drains without being heard."""
        if self._ladder is None:
            return
        old, self._ladder = self._ladder, None
        old.detach()
        task = asyncio.get_running_loop().create_task(old.stop())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    # LadderListener ------------------------------------------------------------------------

    def ladder_planned(self, rungs: tuple[Rung, ...]) -> None:
        self._stream.ladder_planned(rungs)

    def rung_output(self, rung: Rung, config: VideoConfig, output: MuxerOutput) -> None:
        assert self._timeline is not None
        if output.init is not None and output.part_target is not None:
            self._stream.new_rung_init(rung, config, output.init, output.part_target)
        for part in output.parts:
            self._stream.add_rung_part(rung, part, self._timeline.wallclock(part.start))

    def rung_dropped(self, rung: Rung) -> None:
        self._stream.rung_dropped(rung)

    def _deliver(self, output: MuxerOutput) -> None:
        """Runs on the loop: muxer output → the stream's window."""
        assert self._timeline is not None
        if output.init is not None and output.part_target is not None:
            self._stream.new_init(output.init, output.part_target, output.video_size, output.frame_rate)
        now = time.time()
        for part in output.parts:
            end = part.start + part.duration
            self._media_end = max(self._media_end, end)
            self._stream.add_part(part, self._timeline.wallclock(part.start))
            self.part_latencies.append(now - self._timeline.wallclock(end))

    @property
    def next_start_ms(self) -> int:
        return math.ceil(self._media_end * 1000) + 1
