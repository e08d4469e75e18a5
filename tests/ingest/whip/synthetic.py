"""A synthetic camera and microphone for aiortc publishers, with a shared truth for A/V sync.

Both tracks pace themselves in real time (as aiortc's base tracks do) and draw their content
from the wall-clock instant of each frame's capture, so "the same moment" means the same thing
for both: every whole second of the wall clock, the first video frame captured at or after it
is white (a flash) and the audio starts a 1 kHz beep exactly at it. Capture instants are
recorded, so a test knows the true offset between each flash and its beep and can compare
what comes out of the packager with it.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

VIDEO_RATE = 90_000
AUDIO_RATE = 48_000
AUDIO_FRAME = 960  # 20 ms, as browsers send Opus
BEEP_SECONDS = 0.1


class FlashCamera(MediaStreamTrack):
    """A dark frame with a moving bar, white for one frame after each whole wall-clock second."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.flashes: list[float] = []
        self._start: float | None = None
        self._index = 0
        self._last_second: int | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        captured = self._start + self._index / self.fps
        await asyncio.sleep(max(0.0, captured - time.time()))
        second = math.floor(captured)
        flash = self._last_second is not None and second != self._last_second
        self._last_second = second
        image = np.full((self.height, self.width, 3), 16, dtype=np.uint8)
        if flash:
            image[:] = 235
            self.flashes.append(captured)
        else:
            x = (self._index * 4) % self.width
            image[:, x : x + 8] = (40, 90, 160)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = round(self._index * VIDEO_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        self._index += 1
        return frame


class BeepMicrophone(MediaStreamTrack):
    """Silence with a 1 kHz beep starting exactly at each whole wall-clock second."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.beeps: list[float] = []
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        captured = self._start + self._samples / AUDIO_RATE
        await asyncio.sleep(max(0.0, captured - time.time()))
        t = captured + np.arange(AUDIO_FRAME) / AUDIO_RATE
        since_second = t - np.floor(t)
        tone = np.where(since_second < BEEP_SECONDS, 0.5 * np.sin(2 * np.pi * 1000 * since_second), 0.0)
        if (second := math.ceil(captured)) < captured + AUDIO_FRAME / AUDIO_RATE:
            self.beeps.append(float(second))
        pcm = (tone * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(pcm, 2)[None, :], format="s16", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self._samples += AUDIO_FRAME
        return frame
