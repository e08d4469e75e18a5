"""The HLS VOD playlists of a recording: which segments every rendition keeps, and their text.

Renditions of a live stream share Media Sequence Numbers (MSN *n* covers the same media time in
each), but they do not start together (ladder rungs begin a GOP after the passthrough) and a
segment may be missing from one of them (dropped because storage fell behind, or its write
failed). A player switches renditions at segment boundaries by position, so every rendition
keeps exactly the MSNs *all* of them have. Where the kept MSNs skip a number, or any rendition
marked a reconnect, every rendition gets EXT-X-DISCONTINUITY at the same place, so their
discontinuity sequences agree as the spec requires.

Media names are the live ones (:mod:`packager.live.names`): a recording is stored under the
names the live playlists used, and the VOD playlists refer to them relatively. Transcoded
uploads (:mod:`vod.transcode`) use the same names and the same media playlists; their audio is
a rendition of its own, which :func:`render_vod_multivariant_playlist` lists as an audio group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from packager.live.hls_rules import rounded_duration, segment_bit_rates
from packager.live.llhls_playlist import render_multivariant_playlist
from packager.live.names import MEDIA_PLAYLIST_NAME, init_name, segment_name
from packager.live.window import VariantInfo

HLS_VERSION = 6
"""EXT-X-MAP in a playlist that is not I-frames only needs version 6; nothing here needs more."""
AUDIO_GROUP = "audio"
_STREAM_INF = "#EXT-X-STREAM-INF:"


@dataclass(frozen=True, slots=True)
class RecordedSegment:
    """A segment that reached storage, with its init segment."""

    msn: int
    duration: float
    init_id: int
    discontinuity: bool
    size: int


def align(renditions: Mapping[str, Mapping[int, RecordedSegment]]) -> dict[str, list[RecordedSegment]]:
    """The segments each rendition keeps: the MSNs every rendition has, in order, with
    ``discontinuity`` set alike in all of them (see the module docstring). Empty if the
    renditions have no MSN in common (or there are none)."""
    if not renditions:
        return {}
    common = sorted(set.intersection(*(set(segments) for segments in renditions.values())))
    breaks = {
        msn
        for before, msn in zip([None, *common], common)
        if before is not None
        and (msn != before + 1 or any(s[msn].discontinuity for s in renditions.values()))
    }
    return {
        name: [dataclasses.replace(segments[msn], discontinuity=msn in breaks) for msn in common]
        for name, segments in renditions.items()
    }


def render_vod_playlist(segments: Sequence[RecordedSegment]) -> str:
    """A VOD media playlist (``segments`` as :func:`align` returned them for one rendition)."""
    target = max((max(1, rounded_duration(segment.duration)) for segment in segments), default=1)
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{HLS_VERSION}",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        *_segment_lines(segments),
        "#EXT-X-ENDLIST",
    ]
    return "\n".join(lines) + "\n"


def render_vod_multivariant_playlist(
    video: Sequence[VariantInfo], audio: VariantInfo | None, *, channels: int = 2
) -> str:
    """The multivariant playlist of video renditions that play with one separate audio
    rendition (or none): an ``EXT-X-MEDIA`` audio group every video variant names, plus the
    audio rendition as an audio-only variant of its own.

    ``video`` variants carry the audio in CODECS and BANDWIDTH already (the spec counts the
    audio group in). hls.js plays the group as the levels' audio track and leaves the
    audio-only variant out of its levels when there are video ones; players that switch to
    audio only on a poor link (Apple's) use it.
    """
    lines = render_multivariant_playlist([*video, *([audio] if audio else [])]).splitlines()
    if audio is None:
        return "\n".join(lines) + "\n"
    header, variants = lines[:2], lines[2:]
    group = (
        f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Audio",DEFAULT=YES,'
        f'AUTOSELECT=YES,CHANNELS="{channels}",URI="{audio.name}/{MEDIA_PLAYLIST_NAME}"'
    )
    tagged = [
        f'{line},AUDIO="{AUDIO_GROUP}"' if line.startswith(_STREAM_INF) else line for line in variants
    ]
    return "\n".join([*header, group, *tagged]) + "\n"


def measured(variant: VariantInfo, segments: Sequence[RecordedSegment]) -> VariantInfo:
    """``variant`` with BANDWIDTH the peak segment bit rate and AVERAGE-BANDWIDTH the mean of
    ``segments``: the live values describe the last window only, a VOD's must hold for all of
    it. (The multivariant playlist is then the live writer's,
    :func:`packager.live.llhls_playlist.render_multivariant_playlist`.)
    """
    peak, average = segment_bit_rates((s.size, s.duration) for s in segments)
    if not peak:
        return variant
    return dataclasses.replace(variant, bandwidth=peak, average_bandwidth=average)


def duration(segments: Sequence[RecordedSegment]) -> float:
    return sum(segment.duration for segment in segments)


def _segment_lines(segments: Sequence[RecordedSegment]) -> Iterator[str]:
    current_init: int | None = None
    for segment in segments:
        if segment.discontinuity:
            yield "#EXT-X-DISCONTINUITY"
        if segment.init_id != current_init:
            current_init = segment.init_id
            yield f'#EXT-X-MAP:URI="{init_name(segment.init_id)}"'
        yield f"#EXTINF:{segment.duration:.5f},"
        yield segment_name(segment.msn)
