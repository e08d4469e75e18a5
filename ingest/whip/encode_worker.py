"""One WHIP session's encode thread: decoded frames in (from the loop), packager input out.

Encoding is CPU work that must never run on the event loop; PyAV releases the GIL inside
libx264, libswscale and the AAC encoder, so a thread per session runs in parallel with the
loop and with other sessions. Frames are queued by the loop; what the encoders produce goes
back with ``loop.call_soon_threadsafe`` in the order the packager needs: the video and audio
configuration before the first packet (both are known once the first video frame fixes the
output size), then packets. Audio that arrives before the first video frame is dropped,
because the packager starts a session's muxer with the configurations it has at the first
packet.

A worker that falls behind (a slow machine, a huge source) drops video frames beyond
:data:`MAX_QUEUED_VIDEO` rather than buffering without bound; audio is cheap and never dropped.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import av
import structlog

from ingest.aac_encoder import AudioEncoder
from ingest.metrics import dropped
from ingest.whip.video_encoder import VideoEncoder, output_size
from packager.media import AudioConfig, MediaPacket, VideoConfig
from tributary.settings import WhipSettings

log = structlog.get_logger(__name__)

Output = VideoConfig | AudioConfig | MediaPacket
MAX_QUEUED_VIDEO: Final = 30
"""About one second of video waiting for the encoder; later frames are dropped meanwhile."""


@dataclass(frozen=True, slots=True)
class _Frame:
    frame: av.VideoFrame | av.AudioFrame
    time: float
    arrival: float


class EncodeWorker:
    def __init__(
        self,
        settings: WhipSettings,
        *,
        has_audio: bool,
        deliver: Callable[[list[Output]], None],
        failed: Callable[[BaseException], None],
        name: str,
    ) -> None:
        self._settings = settings
        self._has_audio = has_audio
        self._deliver = deliver
        self._failed = failed
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[_Frame | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued_video = 0
        self._video: VideoEncoder | None = None
        self._audio: AudioEncoder | None = None
        self._thread = threading.Thread(target=self._run, name=f"whip-encode-{name}", daemon=True)
        self._backlog_drops = 0
        self._thread.start()

    # On the loop --------------------------------------------------------------------------

    def video(self, frame: av.VideoFrame, time: float, arrival: float) -> None:
        with self._lock:
            if self._queued_video >= MAX_QUEUED_VIDEO:
                self._backlog_drops += 1
                dropped("whip", "encoder_behind")
                return
            self._queued_video += 1
        self._queue.put(_Frame(frame, time, arrival))

    def audio(self, frame: av.AudioFrame, time: float, arrival: float) -> None:
        self._queue.put(_Frame(frame, time, arrival))

    async def stop(self) -> None:
        """Let the thread finish what it holds and end; frames still queued are discarded."""
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    @property
    def video_counts(self) -> dict[str, int]:
        """Frames dropped because the encoder fell behind or their slot was taken; repeated
        into empty slots (see :mod:`ingest.whip.video_encoder`)."""
        video = self._video
        return {
            "behind": self._backlog_drops,
            "slot_taken": video.grid.dropped if video is not None else 0,
            "repeated": video.grid.repeated if video is not None else 0,
        }

    @property
    def filled_audio(self) -> float:
        """Seconds of silence inserted into the audio for lost packets."""
        return self._audio.filled if self._audio is not None else 0.0

    # On the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                outputs = self._encode(item)
                if outputs:
                    self._loop.call_soon_threadsafe(self._deliver, outputs)
        except Exception as exc:  # noqa: BLE001 - reported to the session, which ends
            self._loop.call_soon_threadsafe(self._failed, exc)

    def _encode(self, item: _Frame) -> list[Output]:
        outputs: list[Output] = []
        if isinstance(item.frame, av.VideoFrame):
            with self._lock:
                self._queued_video -= 1
            if self._video is None:
                self._video = self._open(item.frame, outputs)
            outputs.extend(self._video.encode(item.frame, item.time, item.arrival))
        elif self._audio is not None:
            outputs.extend(self._audio.encode(item.frame, item.time, item.arrival))
        else:
            dropped("whip", "before_video")
        return outputs

    def _open(self, first: av.VideoFrame, outputs: list[Output]) -> VideoEncoder:
        s = self._settings
        width, height = output_size(first.width, first.height)
        video = VideoEncoder(
            width,
            height,
            frame_rate=s.frame_rate,
            bitrate=s.video_bitrate,
            preset=s.preset,
            keyframe_interval=s.keyframe_interval,
        )
        outputs.append(video.config)
        if self._has_audio:
            self._audio = AudioEncoder(bitrate=s.audio_bitrate)
            outputs.append(self._audio.config)
        log.debug("whip.encoder_opened", width=width, height=height, source=f"{first.width}x{first.height}")
        return video
