"""The storyboard's layout and its WebVTT track: seek previews as players show them.

Small frames, one every ``interval`` seconds, are tiled row by row onto sprite sheets (JPEG);
the WebVTT track has one cue per frame whose text is the sheet's URL with a media fragment
naming the tile (``thumb12.jpg#xywh=160,0,160,90``), the convention of Video.js, JW Player,
Plyr and others. Sheet URLs are relative to the track: both are served under
``/vod/{video}/`` (:mod:`origin.vod_routes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vod.transcode.protocol import StoryboardResult


@dataclass(frozen=True, slots=True)
class TilePosition:
    sheet: int
    x: int
    y: int


def tile_position(
    index: int, *, tile_width: int, tile_height: int, columns: int, per_sheet: int
) -> TilePosition:
    """Where tile ``index`` (0-based, over all sheets) lies."""
    sheet, within = divmod(index, per_sheet)
    row, column = divmod(within, columns)
    return TilePosition(sheet, column * tile_width, row * tile_height)


def render_storyboard_vtt(
    storyboard: StoryboardResult, sheet_uris: Sequence[str], duration: float
) -> str:
    """The track: ``sheet_uris`` name ``storyboard.sheets`` in order; the last cue ends at
    ``duration``."""
    lines = ["WEBVTT", ""]
    for index in range(storyboard.tiles):
        start = index * storyboard.interval
        end = min(start + storyboard.interval, duration)
        if end <= start:
            break
        where = tile_position(
            index,
            tile_width=storyboard.tile_width,
            tile_height=storyboard.tile_height,
            columns=storyboard.columns,
            per_sheet=storyboard.columns * storyboard.rows,
        )
        lines += [
            f"{_timestamp(start)} --> {_timestamp(end)}",
            f"{sheet_uris[where.sheet]}#xywh={where.x},{where.y},"
            f"{storyboard.tile_width},{storyboard.tile_height}",
            "",
        ]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    """WebVTT's ``hh:mm:ss.ttt``."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"
