"""Real fragmented MP4 for recording tests: x264 (and AAC) through PyAV's MP4 muxer, one fragment
per GOP, split into an init segment and media segments as the live packager stores them."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from packager.fmp4_boxes import iter_boxes

COLOUR = (40, 160, 220)
"""Every frame's background (RGB), so a poster can be checked by its colour."""


def fmp4_segments(*, seconds: float = 2.0, size: tuple[int, int] = (320, 180), fps: int = 30,
                  gop: int = 30) -> tuple[bytes, list[bytes]]:
    """``(init, segments)``: each segment is one GOP (moof + mdat), starting with a keyframe."""
    buf = io.BytesIO()
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    with av.open(buf, "w", format="mp4", options=options) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.codec_context.gop_size = gop
        video.codec_context.options = {"preset": "ultrafast", "keyint_min": str(gop), "sc_threshold": "0"}
        for i in range(int(seconds * fps)):
            image = np.empty((size[1], size[0], 3), dtype=np.uint8)
            image[:] = COLOUR
            image[: size[1] // 8, : (i % 8 + 1) * size[0] // 8] = 255  # a moving bar
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    data = buf.getvalue()
    moofs = [start for kind, start, _ in iter_boxes(data) if kind == "moof"]
    return data[: moofs[0]], [data[a:b] for a, b in zip(moofs, [*moofs[1:], len(data)])]
