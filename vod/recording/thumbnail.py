"""Pictures of a video as JPEG, with PyAV (no image library): a recording's poster from one of
its segments, and any decoded frame (the transcoder's poster, thumbnails and storyboard sheets).

CPU work (decoding a frame, scaling, encoding): call it from a worker thread or process.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av

MAX_WIDTH = 1280
"""Posters are shown at card and player sizes: a 1080p frame would only cost bytes."""

JPEG_QSCALE = 3
"""MJPEG quantiser (2 best … 31 worst); without a fixed one the encoder's rate control would
squeeze a lone frame to a few kilobytes."""


@dataclass(frozen=True, slots=True)
class Jpeg:
    data: bytes
    width: int
    height: int


def poster_jpeg(init: bytes, segment: bytes) -> Jpeg:
    """The first frame of ``segment`` (fMP4 media after ``init``), at most :data:`MAX_WIDTH` wide.

    Segments start with a keyframe, so the first frame decodes on its own. Raises
    :class:`ValueError` if there is no video frame, ``av.FFmpegError`` if the bytes do not decode.
    """
    with av.open(io.BytesIO(init + segment), format="mp4") as container:
        if not container.streams.video:
            raise ValueError("the segment has no video track")
        frame = next(container.decode(video=0), None)
    if frame is None:
        raise ValueError("the segment has no video frame")
    return frame_jpeg(frame)


def frame_jpeg(frame: av.VideoFrame, max_width: int = MAX_WIDTH) -> Jpeg:
    """``frame`` as a JPEG at most ``max_width`` wide (aspect ratio kept, even dimensions)."""
    width, height = _scaled(frame.width, frame.height, max_width)
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 1)
    encoder.qscale = JPEG_QSCALE
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    picture.pts = 0
    packets = [*encoder.encode(picture), *encoder.encode(None)]
    return Jpeg(b"".join(bytes(packet) for packet in packets), width, height)


def _scaled(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Fit within ``max_width``, keeping the aspect ratio and even dimensions (4:2:0)."""
    if width <= max_width:
        return width, height
    return max_width, max(2, round(height * max_width / width / 2) * 2)
