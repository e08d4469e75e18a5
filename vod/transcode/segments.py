"""One rendition's fragments (:class:`packager.cmaf_muxer.Part`) → segment files on disk, named as
live media is (``init0.mp4``, ``seg{N}.m4s``), so the VOD playlists and the origin's VOD routes
serve them unchanged.

A segment starts at every independent fragment. Video keyframes are forced only at segment
boundaries (:mod:`vod.transcode.renditions`), so every video rendition is cut at the same
instants; each audio fragment is independent, and the muxer makes them a segment long.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from packager.cmaf_muxer import Part
from packager.live.names import init_name, segment_name
from vod.recording.playlists import RecordedSegment

INIT_ID = 0

Announce = Callable[[Path], None]
"""Told of every complete file the transcode writes."""


class SegmentWriter:
    def __init__(self, directory: Path, announce: Announce) -> None:
        self._directory = directory
        self._announce = announce
        self._open: list[Part] = []
        self._init_written = False
        self.segments: list[RecordedSegment] = []
        directory.mkdir(parents=True, exist_ok=True)

    def add(self, parts: list[Part], init: bytes | None) -> None:
        """Fragments the muxer just produced; ``init`` is its init segment (once it has one)."""
        if init is not None and not self._init_written:
            self._write(init_name(INIT_ID), init)
            self._init_written = True
        for part in parts:
            if part.independent and self._open:
                self._close_segment()
            self._open.append(part)

    def close(self) -> None:
        """The rendition ended: its last segment is complete."""
        if self._open:
            self._close_segment()

    def _close_segment(self) -> None:
        data = b"".join(part.data for part in self._open)
        msn = len(self.segments)
        self.segments.append(
            RecordedSegment(
                msn=msn,
                duration=sum(part.duration for part in self._open),
                init_id=INIT_ID,
                discontinuity=False,
                size=len(data),
            )
        )
        self._open = []
        self._write(segment_name(msn), data)

    def _write(self, name: str, data: bytes) -> None:
        path = self._directory / name
        path.write_bytes(data)
        self._announce(path)
