"""What an uploaded file is, decided before anything is encoded: a playable video
(:class:`SourceInfo`) or not (:class:`NotPlayable`, with a sentence its owner can act on).

Uploads are untrusted bytes, so they are opened only through :func:`open_source`: local files,
and only the demuxers in :data:`ACCEPTED_FORMATS`. libavformat would otherwise follow a
playlist or concat list inside an upload to other files or URLs, and read them into the video.

What PyAV really does with bad input (each case has a test in tests/vod/test_transcode_bad_files):

* empty, text and random bytes: ``av.open`` raises ``InvalidDataError``, the same for all, so
  the file's first bytes say which sentence fits;
* an MP4 cut short whose index (``moov``) was to come at the end: ``InvalidDataError`` too, but
  its first box is ``ftyp``;
* an MP4 cut short after a front index (``+faststart``): it opens and declares its full length,
  but its packets stop early; demuxing them all shows where;
* PNG/JPEG: open as one-frame ``png_pipe``/``jpeg_pipe`` "video";
* an audio file: no video stream, or only cover art (an ``attached_pic`` MJPEG "video");
* a damaged picture stream shows up as ``InvalidDataError`` from the decoder, which the
  transcode itself counts (:mod:`vod.transcode.decode`): the probe decodes only the first frame.

CPU and disk work: run in the transcode's child process, never on the event loop.
"""

from __future__ import annotations

import codecs
import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
from av.stream import Disposition

ACCEPTED_FORMATS = (
    # video containers
    "mov", "matroska", "avi", "flv", "mpegts", "mpeg", "asf", "ogg", "mxf", "dv", "gif", "m4v",
    "h264", "hevc", "ivf",
    # audio: accepted only to be refused with the right sentence
    "mp3", "wav", "flac", "aac",
    # still images, likewise
    "png_pipe", "jpeg_pipe", "webp_pipe", "gif_pipe", "bmp_pipe", "tiff_pipe", "jpegxl_pipe",
)  # fmt: skip
"""Demuxers an upload may be read with (libavformat's ``format_whitelist``)."""

_IMAGE_KINDS = {"png": "PNG", "mjpeg": "JPEG", "webp": "WebP", "gif": "GIF", "bmp": "BMP",
                "tiff": "TIFF", "jpegxl": "JPEG XL"}  # fmt: skip
_TRUNCATION_TOLERANCE = 0.5
"""Seconds by which a file's media may fall short of its declared length (rounding, a last
frame's duration) before it counts as cut short..."""
_TRUNCATION_SHARE = 0.02
"""...or this share of the declared length, if more."""
_SIDE_LIMITS = (16, 8192)
_TEXT_SAMPLE = 4096
_PRINTABLE_SHARE = 0.95
_FIRST_FRAME_PACKETS = 300
"""Packets decoded at most to find the first picture (a stream may open with undecodable
leading packets, e.g. B-frames before the first keyframe)."""


class NotPlayableError(Exception):
    """Raised where probing or transcoding finds the file is not a playable video."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NotPlayable:
    reason: str
    """A sentence for the video's owner: what the file is, or what is wrong with it."""


@dataclass(frozen=True, slots=True)
class VideoStreamInfo:
    codec: str
    width: int
    """Coded size, as decoded frames come out..."""
    height: int
    display_width: int
    """...and as shown: pixel aspect ratio and rotation applied (what renditions keep)."""
    display_height: int
    rotation: int
    """Degrees (0, 90, 180, 270) the picture turns counter-clockwise to be shown upright."""
    frame_rate: float
    pixel_format: str | None
    bit_rate: int | None
    start: float
    """Seconds: the stream's first presentation time."""


@dataclass(frozen=True, slots=True)
class AudioStreamInfo:
    codec: str
    sample_rate: int
    channels: int
    bit_rate: int | None
    start: float


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A playable upload; kept as the video's ``source_metadata``."""

    container: str
    size: int
    duration: float
    video: VideoStreamInfo
    audio: AudioStreamInfo | None

    @property
    def start(self) -> float:
        """Where the output timeline's zero is: the earlier of the two streams' starts."""
        return min(self.video.start, self.audio.start if self.audio else math.inf)


@contextlib.contextmanager
def open_source(path: Path) -> Iterator[av.container.InputContainer]:
    """Open an upload the only safe way (module docstring). Raises ``av.FFmpegError``."""
    options = {"format_whitelist": ",".join(ACCEPTED_FORMATS), "protocol_whitelist": "file"}
    with av.open(str(path), options=options) as container:
        yield container


def video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The picture stream: the default one, else the first; cover art is not one."""
    pictures = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    return next((s for s in pictures if s.disposition & Disposition.default), None) or next(
        iter(pictures), None
    )


def audio_stream(container: av.container.InputContainer) -> av.AudioStream | None:
    sounds = list(container.streams.audio)
    return next((s for s in sounds if s.disposition & Disposition.default), None) or next(
        iter(sounds), None
    )


def probe(path: Path) -> SourceInfo | NotPlayable:
    """Decide what ``path`` is (module docstring)."""
    size = path.stat().st_size
    if size == 0:
        return NotPlayable("the file is empty")
    try:
        with open_source(path) as container:
            return _probe_container(container, size, path)
    except NotPlayableError as refused:
        return NotPlayable(refused.reason)
    except av.FFmpegError:
        return NotPlayable(_unrecognised(path))


def _unrecognised(path: Path) -> str:
    """The sentence for a file no accepted demuxer opens, from its first bytes."""
    with path.open("rb") as file:
        head = file.read(_TEXT_SAMPLE)
    if head[4:8] == b"ftyp":
        return (
            "the file is incomplete: it begins like an MP4 video but ends before its index "
            "(the moov box), so it was probably cut off while uploading"
        )
    if _looks_like_text(head):
        return "this is a text file, not a video"
    return "the file is not in a video format we recognise (it may be damaged, or not a video)"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:  # incremental: a multi-byte character cut by the sample's end is not an error
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    printable = sum(1 for c in text if c.isprintable() or c in "\t\r\n")
    return bool(text) and printable >= _PRINTABLE_SHARE * len(text)


def _probe_container(container: av.container.InputContainer, size: int, path: Path) -> SourceInfo:
    name = container.format.name
    video = video_stream(container)
    audio = audio_stream(container)
    if video is None:
        if audio is not None:
            raise NotPlayableError("the file has sound but no picture: it is audio only, not a video")
        raise NotPlayableError("the file has neither pictures nor sound in it")
    if name.endswith("_pipe"):
        kind = _IMAGE_KINDS.get(video.codec_context.name, video.codec_context.name.upper())
        raise NotPlayableError(f"this is a {kind} image, not a video")
    width, height = video.codec_context.width, video.codec_context.height
    low, high = _SIDE_LIMITS
    if not (low <= width <= high and low <= height <= high):
        raise NotPlayableError(
            f"the picture is {width}x{height}; videos are {low} to {high} pixels on each side"
        )
    extent, packets = _media_extent(container, video, audio)
    declared = _declared_duration(container, video)
    duration = declared or extent
    if packets < 2:
        raise NotPlayableError("the file holds a single picture, not a video")
    if declared and extent < declared - max(_TRUNCATION_TOLERANCE, _TRUNCATION_SHARE * declared):
        raise NotPlayableError(
            f"the file ends early (truncated at {extent:.1f} s of {declared:.1f} s)"
        )
    if duration <= 0:
        raise NotPlayableError("the video has no length")
    rotation, pixel_format = _first_picture(path)
    display_width, display_height = _display_size(video, rotation)
    return SourceInfo(
        container=name,
        size=size,
        duration=duration,
        video=VideoStreamInfo(
            codec=video.codec_context.name,
            width=width,
            height=height,
            display_width=display_width,
            display_height=display_height,
            rotation=rotation,
            frame_rate=_frame_rate(video, packets, extent),
            pixel_format=pixel_format,
            bit_rate=video.codec_context.bit_rate or None,
            start=_start(video),
        ),
        audio=None
        if audio is None
        else AudioStreamInfo(
            codec=audio.codec_context.name,
            sample_rate=audio.codec_context.sample_rate,
            channels=audio.codec_context.channels,
            bit_rate=audio.codec_context.bit_rate or None,
            start=_start(audio),
        ),
    )


def _media_extent(
    container: av.container.InputContainer, video: av.VideoStream, audio: av.AudioStream | None
) -> tuple[float, int]:
    """(seconds of picture the file really holds, its video packet count), read packet by
    packet: a file cut short still declares its full length in its header."""
    start = _start(video)
    end, packets = start, 0
    try:
        for packet in container.demux(*[s for s in (video, audio) if s is not None]):
            if packet.stream is not video or packet.size == 0 or packet.pts is None:
                continue
            packets += 1
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except av.FFmpegError as exc:
        raise NotPlayableError(
            f"the file is damaged: it cannot be read past {end - start:.1f} s ({exc.strerror})"
        ) from None
    return end - start, packets


def _declared_duration(container: av.container.InputContainer, video: av.VideoStream) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    return container.duration / av.time_base if container.duration else 0.0


def _first_picture(path: Path) -> tuple[int, str | None]:
    """(rotation, pixel format) of the first decoded picture: the display matrix travels with
    frames, and a stream whose first picture does not decode is not worth encoding."""
    with open_source(path) as container:
        video = video_stream(container)
        assert video is not None
        for count, packet in enumerate(container.demux(video)):
            if count >= _FIRST_FRAME_PACKETS:
                break
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            if frames:
                frame = frames[0]
                return round((frame.rotation or 0) / 90) % 4 * 90, frame.format.name
    raise NotPlayableError("the video's pictures do not decode: the file is damaged")


def _display_size(video: av.VideoStream, rotation: int) -> tuple[int, int]:
    """Square-pixel size as shown: non-square pixels widen or narrow it, a quarter turn swaps it."""
    width, height = video.codec_context.width, video.codec_context.height
    aspect = video.sample_aspect_ratio
    if aspect is not None and aspect > 0 and aspect != 1:
        width = round(width * aspect)
    return (height, width) if rotation in (90, 270) else (width, height)


def _frame_rate(video: av.VideoStream, packets: int, extent: float) -> float:
    rate = video.average_rate or video.guessed_rate
    if rate:
        return float(rate)
    return packets / extent if extent > 0 else 30.0


def _start(stream: av.stream.Stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
