"""The source's frames, decoded once, in file order: pictures upright, every frame timed in seconds
from the source's start (:attr:`~vod.transcode.probe.SourceInfo.start`).

Rotation: phones store the picture as the sensor saw it and a display matrix saying how to turn
it (:attr:`~vod.transcode.probe.VideoStreamInfo.rotation`). Renditions have no such matrix
(HLS players ignore it, and the ladder's sizes must be the shown ones), so frames are turned
here, with libavfilter's ``transpose`` (as ffmpeg's own autorotation does) before anything
scales them.

Damage: a packet the decoder refuses is skipped, and a picture it could only patch up (flagged
corrupt: H.264 conceals errors rather than refusing) is kept; both are counted. A few are
tolerated (a real camera file may have one bad frame); more than :data:`DAMAGE_SHARE` of the
pictures means the file is damaged, and the transcode stops there rather than publish a broken
video. Decoders refuse packets with various errors (``InvalidDataError`` from H.264,
``EPERM`` from AAC), so any ``FFmpegError`` of a packet's decode counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import structlog
from av.filter import Graph

from vod.transcode.probe import NotPlayableError, SourceInfo, audio_stream, open_source, video_stream

log = structlog.get_logger(__name__)

DAMAGE_SHARE = 0.01
"""Share of the pictures that may fail to decode (at least :data:`_DAMAGE_MINIMUM`)."""
_DAMAGE_MINIMUM = 2
_TURNS: dict[int, tuple[tuple[str, str | None], ...]] = {
    # rotation (counter-clockwise, to show upright) → filters, as ffmpeg's autorotation
    90: (("transpose", "cclock"),),
    180: (("hflip", None), ("vflip", None)),
    270: (("transpose", "clock"),),
}


@dataclass(frozen=True, slots=True)
class Decoded:
    frame: av.VideoFrame | av.AudioFrame
    seconds: float


class _Upright:
    """Turns frames upright through a small filter graph; frames pass as they are for 0°."""

    def __init__(self, stream: av.VideoStream, rotation: int) -> None:
        self._graph: Graph | None = None
        if rotation not in _TURNS:
            return
        graph = Graph()
        node = graph.add_buffer(template=stream)
        for name, argument in _TURNS[rotation]:
            following = graph.add(name, argument)
            node.link_to(following)
            node = following
        node.link_to(graph.add("buffersink"))
        graph.configure()
        self._graph = graph

    def __call__(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        if self._graph is None:
            return [frame]
        self._graph.push(frame)
        turned = []
        while True:
            try:
                turned.append(self._graph.pull())
            except (av.error.BlockingIOError, av.error.EOFError):
                return turned


def decoded_frames(source_path: Path, source: SourceInfo) -> Iterator[Decoded]:
    """Every picture (upright, strictly later than the one before) and every sound frame of the
    source, in file order. A frame without a timestamp follows the one before it. Raises
    :class:`NotPlayableError` for a damaged picture stream."""
    with open_source(source_path) as container:
        video = video_stream(container)
        assert video is not None  # probed
        audio = audio_stream(container) if source.audio else None
        for stream in (video, audio):
            if stream is not None:
                stream.thread_type = "AUTO"
        upright = _Upright(video, source.video.rotation)
        damage = _Damage(source)
        last_picture, sound_end = -math.inf, 0.0
        picture_step = 1 / source.video.frame_rate
        for packet in container.demux(*[s for s in (video, audio) if s is not None]):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                if packet.stream is video:
                    damage.picture_lost(last_picture)
                else:
                    damage.sound_lost()
                continue
            for frame in frames:
                if isinstance(frame, av.AudioFrame):
                    seconds = _seconds(frame, source, sound_end)
                    sound_end = seconds + frame.samples / frame.sample_rate
                    yield Decoded(frame, seconds)
                    continue
                seconds = _seconds(frame, source, max(last_picture + picture_step, 0.0))
                if frame.is_corrupt:
                    damage.picture_lost(seconds)
                for turned in upright(frame):
                    if seconds > last_picture:
                        last_picture = seconds
                        yield Decoded(turned, seconds)
        damage.report()


class _Damage:
    def __init__(self, source: SourceInfo) -> None:
        expected = source.duration * source.video.frame_rate
        self._allowed = max(_DAMAGE_MINIMUM, math.floor(DAMAGE_SHARE * expected))
        self._pictures = 0
        self._sounds = 0
        self._first: float | None = None

    def picture_lost(self, after: float) -> None:
        self._pictures += 1
        if self._first is None:
            self._first = max(after, 0.0)
        if self._pictures > self._allowed:
            raise NotPlayableError(
                f"the video is damaged: its pictures do not decode cleanly from {self._first:.1f} s on"
            )

    def sound_lost(self) -> None:
        self._sounds += 1

    def report(self) -> None:
        if self._pictures or self._sounds:
            log.warning("transcode.damage_skipped", pictures=self._pictures, sound=self._sounds)


def _seconds(frame: av.VideoFrame | av.AudioFrame, source: SourceInfo, otherwise: float) -> float:
    return otherwise if frame.time is None else frame.time - source.start
