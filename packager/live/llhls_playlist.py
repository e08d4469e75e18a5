"""LL-HLS playlist text (draft-pantos-hls-rfc8216bis), rendered from window snapshots.

Hand-written on purpose: no maintained Python library generates Low-Latency HLS playlists. The
``m3u8`` package parses the LL-HLS tags (the tests use it as an independent reader), but its
writer re-serialises parsed models — it drops the tags of the in-progress parent segment, for
one — and none of the server-side rules (segment skipping for delta updates, rounding that keeps
lower bounds intact, tag order before the first part) would come from it anyway. The functions
here are pure: the same snapshot and arguments always give the same text.

Numbers that are lower bounds (PART-TARGET caps every part duration; PART-HOLD-BACK and
CAN-SKIP-UNTIL have minimums) are rounded *up* to 10 µs so rounding can never break a rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from packager.live.names import MEDIA_PLAYLIST_NAME, init_name, part_name, segment_name
from packager.live.window import SegmentInfo, VariantInfo, WindowSnapshot

PART_HOLD_BACK_PARTS = 3
"""PART-HOLD-BACK in part targets: the draft's SHOULD (its MUST is two)."""

SKIP_BOUNDARY_TARGETS = 6
"""CAN-SKIP-UNTIL in target durations: the draft's minimum."""

_UNITS_PER_SECOND = 100_000


@dataclass(frozen=True, slots=True)
class RenditionReport:
    """Where a sibling rendition's live edge is: ``uri`` relative to this playlist."""

    uri: str
    last_msn: int
    last_part: int


def sibling_playlist_uri(rendition: str) -> str:
    return f"../{rendition}/{MEDIA_PLAYLIST_NAME}"


def render_media_playlist(
    snapshot: WindowSnapshot,
    *,
    skip: bool = False,
    skip_dateranges: bool = False,
    rendition_reports: Sequence[RenditionReport] = (),
) -> str:
    """The media playlist; ``skip`` asks for a delta update (``_HLS_skip=YES``).

    ``skip_dateranges`` is ``_HLS_skip=v2``: there are no date ranges to skip, but the EXT-X-SKIP
    tag must then carry an (empty) RECENTLY-REMOVED-DATERANGES list, which needs version 10.
    Skipping is ignored on an ended playlist, as the draft requires.
    """
    part_target_units = _units_up(snapshot.part_target)
    skip_until_units = _units_up(SKIP_BOUNDARY_TARGETS * snapshot.target_duration)
    skipped = (
        _skippable(snapshot.segments, skip_until_units / _UNITS_PER_SECOND)
        if skip and not snapshot.ended
        else 0
    )
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{_version(skipped, skip_dateranges)}",
        f"#EXT-X-TARGETDURATION:{snapshot.target_duration}",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"
        f",PART-HOLD-BACK={_decimal(PART_HOLD_BACK_PARTS * part_target_units)}"
        f",CAN-SKIP-UNTIL={_decimal(skip_until_units)}",
        f"#EXT-X-PART-INF:PART-TARGET={_decimal(part_target_units)}",
        f"#EXT-X-MEDIA-SEQUENCE:{snapshot.media_sequence}",
    ]
    if snapshot.discontinuity_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{snapshot.discontinuity_sequence}")
    if skipped:
        removed = ',RECENTLY-REMOVED-DATERANGES=""' if skip_dateranges else ""
        lines.append(f"#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}{removed}")
    lines.extend(_segment_lines(snapshot.segments[skipped:]))
    if not snapshot.ended:
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{part_name(snapshot.next_part_index)}"')
    lines.extend(
        f'#EXT-X-RENDITION-REPORT:URI="{report.uri}",LAST-MSN={report.last_msn}'
        f",LAST-PART={report.last_part}"
        for report in rendition_reports
    )
    if snapshot.ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def render_multivariant_playlist(variants: Sequence[VariantInfo]) -> str:
    """One EXT-X-STREAM-INF per variant, in the given order, pointing at ``{name}/index.m3u8``."""
    lines = ["#EXTM3U", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in variants:
        attributes = [f"BANDWIDTH={variant.bandwidth}"]
        if variant.average_bandwidth is not None:
            attributes.append(f"AVERAGE-BANDWIDTH={variant.average_bandwidth}")
        attributes.append(f'CODECS="{variant.codecs}"')
        if variant.width and variant.height:
            attributes.append(f"RESOLUTION={variant.width}x{variant.height}")
        if variant.frame_rate is not None:
            attributes.append(f"FRAME-RATE={variant.frame_rate:.3f}")
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attributes))
        lines.append(f"{variant.name}/{MEDIA_PLAYLIST_NAME}")
    return "\n".join(lines) + "\n"


def _version(skipped: int, skip_dateranges: bool) -> int:
    """The lowest version the tags need: EXT-X-MAP 6, EXT-X-SKIP 9, date-range skipping 10."""
    if not skipped:
        return 6
    return 10 if skip_dateranges else 9


def _skippable(segments: Sequence[SegmentInfo], skip_boundary: float) -> int:
    """How many leading complete segments lie entirely beyond the Skip Boundary from the end.

    A segment is skipped only if its *end* is at least ``skip_boundary`` seconds before the end
    of the playlist (open segment included); skipping less than allowed is always safe.
    """
    remaining = sum(segment.duration for segment in segments)
    count = 0
    for segment in segments:
        remaining -= segment.duration
        if not segment.complete or remaining < skip_boundary:
            break
        count += 1
    return count


def _segment_lines(segments: Sequence[SegmentInfo]) -> Iterator[str]:
    """Tags apply to a parent segment and so precede its first EXT-X-PART (rfc8216bis §4.4.4.9).

    EXT-X-MAP is written before the first listed segment (also after an EXT-X-SKIP, so a delta
    update is complete on its own for the map) and wherever the init segment changes.
    """
    current_init: int | None = None
    for segment in segments:
        if segment.discontinuity:
            yield "#EXT-X-DISCONTINUITY"
        if segment.init_id != current_init:
            current_init = segment.init_id
            yield f'#EXT-X-MAP:URI="{init_name(segment.init_id)}"'
        yield f"#EXT-X-PROGRAM-DATE-TIME:{_program_date_time(segment.program_date_time)}"
        for part in segment.parts:
            independent = ",INDEPENDENT=YES" if part.independent else ""
            yield (
                f'#EXT-X-PART:DURATION={part.duration:.5f},URI="{part_name(part.index)}"'
                f"{independent}"
            )
        if segment.complete:
            yield f"#EXTINF:{segment.duration:.5f},"
            yield segment_name(segment.msn)


def _program_date_time(wallclock: float) -> str:
    moment = datetime.fromtimestamp(wallclock, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _units_up(seconds: float) -> int:
    """Seconds → 10 µs units, rounded up (ignoring float noise below a hundredth of a unit)."""
    return math.ceil(seconds * _UNITS_PER_SECOND - 0.01)


def _decimal(units: int) -> str:
    """10 µs units → decimal-floating-point text: ``20000`` → ``0.2``, ``1200000`` → ``12.0``."""
    whole, fraction = divmod(units, _UNITS_PER_SECOND)
    return f"{whole}.{f'{fraction:05d}'.rstrip('0') or '0'}"
