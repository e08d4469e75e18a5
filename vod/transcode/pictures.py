"""The poster, the thumbnails and the storyboard's sprite sheets, taken from the upright frames as
they pass by on their way to the encoders: no second decode of the source.

A picture planned for a time takes the first frame at or after it; pictures planned beyond the
last frame (a source a little shorter than it declared) take the last one. JPEGs are made by
:func:`vod.recording.thumbnail.frame_jpeg`, the recorder's poster code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np

from vod.recording.thumbnail import frame_jpeg
from vod.transcode.plan import TranscodePlan
from vod.transcode.protocol import PictureResult, StoryboardResult
from vod.transcode.segments import Announce
from vod.transcode.storyboard import tile_position

POSTER_NAME = "poster.jpg"


def thumbnail_name(index: int) -> str:
    return f"thumbnail{index}.jpg"


def sheet_name(index: int) -> str:
    return f"storyboard{index}.jpg"


@dataclass(frozen=True, slots=True)
class _Wanted:
    time: float
    kind: Literal["poster", "thumbnail"]
    name: str


class Pictures:
    def __init__(self, plan: TranscodePlan, directory: Path, announce: Announce) -> None:
        self._directory = directory
        self._announce = announce
        wanted = [_Wanted(plan.poster_time, "poster", POSTER_NAME)] + [
            _Wanted(time, "thumbnail", thumbnail_name(i + 1))
            for i, time in enumerate(plan.thumbnail_times)
        ]
        self._wanted = sorted(wanted, key=lambda w: w.time)
        self._board = plan.storyboard
        self._sheet: np.ndarray | None = None
        self._tiles = 0
        self._last: av.VideoFrame | None = None
        self.pictures: list[PictureResult] = []
        self._sheets: list[str] = []
        directory.mkdir(parents=True, exist_ok=True)

    def offer(self, frame: av.VideoFrame, seconds: float) -> None:
        """An upright frame ``seconds`` after the source's start, in presentation order."""
        while self._wanted and self._wanted[0].time <= seconds:
            self._take(self._wanted.pop(0), frame)
        while self._tiles * self._board.interval <= seconds:
            self._add_tile(frame)
        self._last = frame

    def finish(self) -> StoryboardResult | None:
        """Take what is still wanted from the last frame; close the last sheet."""
        if self._last is None:
            return None
        for wanted in self._wanted:
            self._take(wanted, self._last)
        self._wanted = []
        self._close_sheet()
        board = self._board
        return StoryboardResult(
            interval=board.interval,
            tile_width=board.tile_width,
            tile_height=board.tile_height,
            columns=board.columns,
            rows=board.rows,
            tiles=self._tiles,
            sheets=self._sheets,
        )

    def _take(self, wanted: _Wanted, frame: av.VideoFrame) -> None:
        jpeg = frame_jpeg(frame)
        self._write(wanted.name, jpeg.data)
        self.pictures.append(
            PictureResult(kind=wanted.kind, name=wanted.name, width=jpeg.width, height=jpeg.height)
        )

    def _add_tile(self, frame: av.VideoFrame) -> None:
        board = self._board
        where = tile_position(
            self._tiles,
            tile_width=board.tile_width,
            tile_height=board.tile_height,
            columns=board.columns,
            per_sheet=board.per_sheet,
        )
        if where.sheet == len(self._sheets) + 1:
            self._close_sheet()
        if self._sheet is None:
            size = (board.rows * board.tile_height, board.columns * board.tile_width, 3)
            self._sheet = np.zeros(size, np.uint8)
        tile = frame.reformat(width=board.tile_width, height=board.tile_height, format="rgb24")
        rows = slice(where.y, where.y + board.tile_height)
        self._sheet[rows, where.x : where.x + board.tile_width] = tile.to_ndarray()
        self._tiles += 1

    def _close_sheet(self) -> None:
        """Encode the sheet being filled, cut to the rows it uses."""
        if self._sheet is None:
            return
        board = self._board
        in_sheet = self._tiles - len(self._sheets) * board.per_sheet
        rows = -(-in_sheet // board.columns)
        picture = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(self._sheet[: rows * board.tile_height]), format="rgb24"
        )
        jpeg = frame_jpeg(picture, max_width=picture.width)
        name = sheet_name(len(self._sheets))
        self._write(name, jpeg.data)
        self.pictures.append(
            PictureResult(kind="storyboard", name=name, width=jpeg.width, height=jpeg.height)
        )
        self._sheets.append(name)
        self._sheet = None

    def _write(self, name: str, data: bytes) -> None:
        path = self._directory / name
        path.write_bytes(data)
        self._announce(path)
