"""Real encoded media for packager tests: PyAV encodes test patterns into FLV, then demuxes
them back into the AVCC packets and codec configuration an RTMP publisher would send."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from packager.media import AudioConfig, MediaPacket, VideoConfig


@dataclass(frozen=True)
class Encoded:
    video: VideoConfig
    audio: AudioConfig
    packets: list[MediaPacket]


def encode_flv(seconds: float = 3.0, *, fps: int = 30, gop: int = 60, bframes: int = 0,
               sample_rate: int = 48_000, size: tuple[int, int] = (320, 180)) -> Encoded:
    buf = io.BytesIO()
    with av.open(buf, "w", format="flv") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height = size
        v.pix_fmt = "yuv420p"
        v.codec_context.gop_size = gop
        v.codec_context.max_b_frames = bframes
        v.codec_context.options = {"preset": "ultrafast", "sc_threshold": "0", "keyint_min": str(gop),
                                   "bframes": str(bframes)}
        a = out.add_stream("aac", rate=sample_rate)
        a.codec_context.layout = "stereo"
        frames = int(seconds * fps)
        for i in range(frames):
            img = np.full((size[1], size[0], 3), (i * 7) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(v.encode(frame))
        samples = int(seconds * sample_rate)
        t = np.arange(samples) / sample_rate
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = np.stack([tone[start:start + 1024]] * 2)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            out.mux(a.encode(frame))
        out.mux(v.encode(None))
        out.mux(a.encode(None))
    buf.seek(0)
    packets: list[MediaPacket] = []
    with av.open(buf, format="flv") as src:
        vs, as_ = src.streams.video[0], src.streams.audio[0]
        video = VideoConfig(bytes(vs.codec_context.extradata))
        audio = AudioConfig(bytes(as_.codec_context.extradata), sample_rate, 2, 2)
        for p in src.demux():
            if p.size == 0 or p.dts is None:
                continue
            kind = "video" if p.stream.type == "video" else "audio"
            packets.append(MediaPacket(kind, int(p.dts), int(p.pts - p.dts), p.is_keyframe,
                                       bytes(p), received=1000.0 + p.dts / 1000))
    return Encoded(video, audio, packets)
