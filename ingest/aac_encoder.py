"""Decoded audio → AAC-LC, 48 kHz stereo, on a clock with no holes: what the packager takes from
ingest protocols whose audio is not AAC (WHIP's Opus, RTMP's MP3 or G.711), encoded once per
session and shared by every rendition.

WebRTC audio has gaps: packets get lost (aiortc does no concealment), and senders with DTX
stop sending during silence. AAC frames carry no timestamps of their own in the packager's
eyes (it counts 1024-sample frames and only resynchronises after 100 ms of disagreement), so
a gap left open would slowly pull audio ahead of video. Gaps up to :data:`MAX_FILL` are
therefore filled with silence and the sample count stays equal to the RTP clock; a longer
gap (a sender that stopped audio for a while) restarts the count at the new position, which
the packager sees as a forward jump and handles. Audio that overlaps what was already
encoded (a duplicate) is dropped.

Frames are converted to the encoder's format by libswresample, regrouped into 1024-sample
frames with an ``AudioFifo`` and timestamped by their position, so packet times are exact.
The first packet carries the encoder's priming (it starts one frame before the first sample).

CPU work on PyAV objects, run on one thread of the session only (its encode thread).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

import av
import numpy as np
from av.audio.resampler import AudioResampler

from packager.media import AudioConfig, MediaPacket

RATE: Final = 48_000
FRAME: Final = 1024
MAX_FILL: Final = 2.0
"""Seconds of missing audio filled with silence; beyond this the count restarts."""
_TOLERANCE: Final = 0.001
_AAC_LC: Final = 2


class AudioEncoder:
    def __init__(self, *, bitrate: int) -> None:
        ctx = av.CodecContext.create("aac", "w")
        assert isinstance(ctx, av.AudioCodecContext)
        ctx.sample_rate = RATE
        ctx.layout = "stereo"
        ctx.format = "fltp"
        ctx.bit_rate = bitrate
        ctx.time_base = Fraction(1, RATE)
        ctx.open()
        self._ctx = ctx
        self._resampler = AudioResampler(format="fltp", layout="stereo", rate=RATE)
        self._fifo = av.AudioFifo()
        self._base: float | None = None
        self._position = 0
        """Sample index (from ``_base``) of the first sample in the FIFO."""
        self._expected: float | None = None
        assert ctx.extradata is not None  # the AudioSpecificConfig, written at open
        self.config = AudioConfig(bytes(ctx.extradata), RATE, 2, _AAC_LC)
        self.filled = 0.0
        """Seconds of silence inserted so far (for the session's end-of-publish log line)."""

    def encode(self, frame: av.AudioFrame, time: float, arrival: float) -> list[MediaPacket]:
        """Encode a frame whose first sample is at ``time`` (session seconds)."""
        if self._base is None:
            self._base = time
        elif self._expected is not None:
            gap = time - self._expected
            if gap < -_TOLERANCE:
                return []
            if gap > MAX_FILL:
                self._fifo = av.AudioFifo()
                self._position = round((time - self._base) * RATE)
            elif gap > _TOLERANCE:
                self._write(_silence(round(gap * RATE)))
                self.filled += gap
        self._expected = time + frame.samples / frame.sample_rate
        frame.pts = None  # positions are ours; the resampler need not interpret the sender's
        for converted in self._resampler.resample(frame):
            self._write(converted)
        return self._drain(arrival)

    def _write(self, frame: av.AudioFrame) -> None:
        frame.pts = None
        self._fifo.write(frame)

    def _drain(self, arrival: float) -> list[MediaPacket]:
        assert self._base is not None
        packets: list[MediaPacket] = []
        while self._fifo.samples >= FRAME:
            chunk = self._fifo.read(FRAME)
            assert chunk is not None
            chunk.pts = self._position
            chunk.time_base = self._ctx.time_base
            self._position += FRAME
            for packet in self._ctx.encode(chunk):
                if packet.pts is None:
                    continue
                ms = round((self._base + packet.pts / RATE) * 1000)
                packets.append(MediaPacket("audio", ms, 0, True, bytes(packet), arrival))
        return packets


def _silence(samples: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.zeros((2, samples), dtype=np.float32), format="fltp", layout="stereo"
    )
    frame.sample_rate = RATE
    return frame
