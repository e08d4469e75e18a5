"""What a transcode makes of one source: its renditions, audio, segment cadence and pictures.

Rungs come from the live ladder's rules (:func:`packager.ladder.rungs.plan_rungs`: even sizes in
the source's aspect, the same bitrate rule) with two VOD differences. There is no passthrough,
so the source's own size is the top rendition (when it is not above the largest configured
height, and never upscaled). And sizes are judged on the short side: a portrait phone video
of 1080x1920 is "1080p" to viewers and gets 1080p's pixels and bitrate, where the live rule
(heights) would give it a 608x1080 top rung.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from packager.ladder.rungs import Rung, plan_rungs, rung_width
from tributary.settings import TranscodeSettings
from vod.recording.recorder import POSTER_POSITION
from vod.transcode.probe import SourceInfo

TIMELINE_START = 1.0
"""Seconds at which every output track starts. Encoders emit a little before their first
input: x264 with B-frames decodes two frames before it presents, AAC primes 1024 samples. The
fragment muxer shifts negative timestamps of its own container only, which would move video
against the separate audio rendition; starting late keeps every timestamp positive and every
rendition on one clock. Players start a VOD at its first segment whatever its media time."""
AAC_RATES = (44_100, 48_000)
"""Source rates kept as they are; any other is resampled to 48 kHz."""
_FRAME_RATE_RANGE = (1.0, 120.0)
_GOP_SEGMENTS = 2
"""x264's own keyframe interval, in segments: only a safety net, as keyframes are forced at
every segment boundary (:mod:`vod.transcode.renditions`)."""


@dataclass(frozen=True, slots=True)
class PlannedRendition:
    name: str
    """``{short side}p``: what viewers call a size, portrait or not."""
    rung: Rung
    """The encoded size (portrait stays portrait) and bitrates."""


@dataclass(frozen=True, slots=True)
class AudioPlan:
    sample_rate: int
    channels: int
    bitrate: int


@dataclass(frozen=True, slots=True)
class StoryboardPlan:
    """Small frames every ``interval`` seconds, tiled ``columns`` x ``rows`` to a sheet."""

    interval: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    tiles: int
    """Frames in all: one per interval started within the video."""

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True, slots=True)
class TranscodePlan:
    duration: float
    frame_rate: float
    gop: int
    segment_duration: float
    preset: str
    b_frames: int
    renditions: tuple[PlannedRendition, ...]
    """Largest first."""
    audio: AudioPlan | None
    poster_time: float
    thumbnail_times: tuple[float, ...]
    storyboard: StoryboardPlan


def plan_transcode(source: SourceInfo, settings: TranscodeSettings) -> TranscodePlan:
    low, high = _FRAME_RATE_RANGE
    frame_rate = min(max(source.video.frame_rate, low), high)
    duration = source.duration
    tile_width = settings.storyboard_tile_width - settings.storyboard_tile_width % 2
    return TranscodePlan(
        duration=duration,
        frame_rate=frame_rate,
        gop=math.ceil(_GOP_SEGMENTS * settings.segment_duration * frame_rate),
        segment_duration=settings.segment_duration,
        preset=settings.preset,
        b_frames=settings.b_frames,
        renditions=plan_renditions(
            source.video.display_width, source.video.display_height, frame_rate, settings.heights
        ),
        audio=None
        if source.audio is None
        else AudioPlan(
            sample_rate=source.audio.sample_rate if source.audio.sample_rate in AAC_RATES else 48_000,
            channels=1 if source.audio.channels == 1 else 2,
            bitrate=settings.audio_bitrate,
        ),
        poster_time=POSTER_POSITION * duration,
        thumbnail_times=tuple(
            duration * (i + 1) / (settings.thumbnails + 1) for i in range(settings.thumbnails)
        ),
        storyboard=StoryboardPlan(
            interval=settings.storyboard_interval,
            tile_width=tile_width,
            # The rungs' rounding: even sides, as sheets are 4:2:0 JPEGs.
            tile_height=rung_width(source.video.display_height, source.video.display_width, tile_width),
            columns=settings.storyboard_columns,
            rows=settings.storyboard_rows,
            tiles=max(1, math.ceil(duration / settings.storyboard_interval)),
        ),
    )


def plan_renditions(
    width: int, height: int, frame_rate: float, heights: list[int]
) -> tuple[PlannedRendition, ...]:
    """The ladder for a picture shown at ``width`` x ``height`` (module docstring)."""
    portrait = height > width
    long_side, short_side = (height, width) if portrait else (width, height)
    top = min(short_side, max(heights))
    wanted = [top, *(h for h in heights if h < top)]
    rungs = plan_rungs(long_side, short_side, frame_rate, wanted, source_height_allowed=True)
    return tuple(
        PlannedRendition(
            rung.name,
            dataclasses.replace(rung, width=rung.height, height=rung.width) if portrait else rung,
        )
        for rung in rungs
    )
