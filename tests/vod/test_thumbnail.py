"""Posters: a recorded segment's first frame as a JPEG that decoders read back."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from tests.vod.media import COLOUR, fmp4_segments
from vod.recording.thumbnail import MAX_WIDTH, poster_jpeg


def decoded(jpeg: bytes) -> np.ndarray:
    with av.open(io.BytesIO(jpeg), format="mjpeg") as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


@pytest.mark.parametrize(
    ("size", "expected"), [((320, 180), (320, 180)), ((1920, 1080), (MAX_WIDTH, 720))]
)
def test_poster_is_a_jpeg_of_the_segment_picture(size, expected):
    init, segments = fmp4_segments(size=size, seconds=2.0)
    jpeg = poster_jpeg(init, segments[1])
    assert (jpeg.width, jpeg.height) == expected
    assert jpeg.data[:3] == b"\xff\xd8\xff" and jpeg.data[-2:] == b"\xff\xd9"
    picture = decoded(jpeg.data)
    assert picture.shape == (expected[1], expected[0], 3)
    background = picture[picture.shape[0] // 2 :].reshape(-1, 3).mean(axis=0)
    assert np.allclose(background, COLOUR, atol=8), background  # quality good enough to tell
    assert len(jpeg.data) > 1000


def test_media_without_a_picture_is_refused():
    init, segments = fmp4_segments()
    with pytest.raises((ValueError, av.FFmpegError)):
        poster_jpeg(init, b"")
    with pytest.raises((ValueError, av.FFmpegError)):
        poster_jpeg(b"not mp4", segments[0])
