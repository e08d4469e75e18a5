"""A video's poster: one frame of a recorded segment, as JPEG, with PyAV (no image library).

CPU work (decoding a frame, scaling, encoding): call it from a worker thread.
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
    width, height = _scaled(frame.width, frame.height)
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 1)
    encoder.qscale = JPEG_QSCALE
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    picture.pts = 0
    packets = [*encoder.encode(picture), *encoder.encode(None)]
    return Jpeg(b"".join(bytes(packet) for packet in packets), width, height)


def _scaled(width: int, height: int) -> tuple[int, int]:
    """Fit within :data:`MAX_WIDTH`, keeping the aspect ratio and even dimensions (4:2:0)."""
    if width <= MAX_WIDTH:
        return width, height
    return MAX_WIDTH, max(2, round(height * MAX_WIDTH / width / 2) * 2)
