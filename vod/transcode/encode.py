"""One pass over the source: every decoded frame goes to every rendition and to the pictures.

Keyframes are decided here, once for all renditions: the first picture, then the first one
at least a segment after the previous keyframe. Every video rendition gets the same decision
for the same frame (and x264 adds none of its own: scene-cut is off and its own interval is a
safety net beyond a segment), so segment boundaries are identical across renditions and a
player switching at a boundary lands on the same picture. Segments are therefore at least
``segment_duration`` long, by whole frames, and the last is what remains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import av

from vod.transcode.decode import decoded_frames
from vod.transcode.pictures import Pictures
from vod.transcode.plan import TranscodePlan
from vod.transcode.probe import NotPlayableError, SourceInfo
from vod.transcode.protocol import TranscodeResult
from vod.transcode.renditions import AudioRendition, VideoRendition, video_ticks

PROGRESS_EVERY = 0.25
"""Seconds of wall-clock time between progress reports (the parent writes the catalog less
often)."""


def encode_source(
    source_path: Path,
    source: SourceInfo,
    plan: TranscodePlan,
    output_dir: Path,
    *,
    file_ready: Callable[[str], None],
    progress: Callable[[float], None],
) -> TranscodeResult:
    """Encode everything into ``output_dir``; ``file_ready`` gets each finished file's path
    relative to it, ``progress`` the source seconds done. Raises
    :class:`~vod.transcode.probe.NotPlayableError` if the source turns out damaged."""

    def announce(path: Path) -> None:
        file_ready(path.relative_to(output_dir).as_posix())

    videos = [VideoRendition(planned, plan, output_dir, announce) for planned in plan.renditions]
    audio = (
        AudioRendition(plan.audio, plan.segment_duration, output_dir, announce) if plan.audio else None
    )
    pictures = Pictures(plan, output_dir, announce)
    # Half a frame early still counts: float times of a 4.000 s frame may read 3.99999.
    tolerance = 0.5 / plan.frame_rate
    next_keyframe, last_ticks, reported = 0.0, -1, time.monotonic()
    for decoded in decoded_frames(source_path, source):
        frame, seconds = decoded.frame, decoded.seconds
        if isinstance(frame, av.AudioFrame):
            if audio is not None:
                audio.encode(frame, seconds)
            continue
        ticks = video_ticks(seconds)
        if ticks <= last_ticks:
            continue  # two frames within one 90 kHz tick: the second adds nothing
        last_ticks = ticks
        keyframe = seconds >= next_keyframe - tolerance
        if keyframe:
            next_keyframe = seconds + plan.segment_duration
        for video in videos:
            video.encode(frame, seconds, keyframe)
        pictures.offer(frame, seconds)
        if time.monotonic() - reported >= PROGRESS_EVERY:
            progress(seconds)
            reported = time.monotonic()
    renditions = [video.finish() for video in videos]
    if not renditions or not renditions[0].segments:
        raise NotPlayableError("the video's pictures do not decode: the file is damaged")
    audio_result = audio.finish() if audio else None
    storyboard = pictures.finish()
    return TranscodeResult(
        duration=sum(segment.duration for segment in renditions[0].segments),
        renditions=renditions,
        audio=audio_result,
        pictures=pictures.pictures,
        storyboard=storyboard,
    )
