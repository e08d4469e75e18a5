"""Reading back the fragments PyAV's MP4 muxer writes: where each moof+mdat ends and what it holds.

libavformat decides where a fragment ends (``frag_duration``/``frag_keyframe``); the packager
needs each fragment's bytes, start time, duration and whether it opens with a sync sample to
turn it into an LL-HLS part. Those facts are in the ``moof`` box, so this reads just the boxes
involved (ISO/IEC 14496-12 §8.8: mfhd, traf, tfhd, tfdt, trun). Hand-written because no
maintained Python library parses fragment headers without pulling in a whole demuxer; PyAV's
demuxer cannot be fed fragment by fragment.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

_HEADER = struct.Struct(">I4s")
_NON_SYNC = 0x0001_0000  # sample_is_non_sync_sample in sample flags


class BoxError(ValueError):
    pass


def iter_boxes(buf: bytes | memoryview, start: int = 0, end: int | None = None) -> Iterator[tuple[str, int, int]]:
    """Yield ``(type, offset, size)`` of each complete top-level box in ``buf[start:end]``."""
    end = len(buf) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = _HEADER.unpack_from(buf, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            header = 16
        if size < header:
            raise BoxError(f"box {kind!r} at {pos} has impossible size {size}")
        if pos + size > end:
            return
        yield kind.decode("latin-1"), pos, size
        pos += size


@dataclass(frozen=True, slots=True)
class TrackRun:
    """One track's samples in a fragment, in that track's timescale."""

    track_id: int
    base_decode_time: int
    duration: int
    sample_count: int
    starts_with_sync: bool


@dataclass(frozen=True, slots=True)
class Fragment:
    """A complete moof+mdat pair (a CMAF chunk) and what its moof says."""

    data: bytes
    tracks: dict[int, TrackRun]


def parse_moof(moof: bytes | memoryview) -> dict[int, TrackRun]:
    runs: dict[int, TrackRun] = {}
    for kind, off, size in iter_boxes(moof, 8, len(moof)):
        if kind == "traf":
            run = _parse_traf(moof, off + 8, off + size)
            runs[run.track_id] = run
    return runs


def _parse_traf(buf: bytes | memoryview, start: int, end: int) -> TrackRun:
    track_id = base_time = 0
    default_duration = 0
    default_flags = 0
    duration = count = 0
    first_flags: int | None = None
    for kind, off, size in iter_boxes(buf, start, end):
        body = off + 8
        version_flags = struct.unpack_from(">I", buf, body)[0]
        version, flags = version_flags >> 24, version_flags & 0xFFFFFF
        if kind == "tfhd":
            track_id = struct.unpack_from(">I", buf, body + 4)[0]
            pos = body + 8
            if flags & 0x01:
                pos += 8  # base_data_offset
            if flags & 0x02:
                pos += 4  # sample_description_index
            if flags & 0x08:
                default_duration = struct.unpack_from(">I", buf, pos)[0]
                pos += 4
            if flags & 0x10:
                pos += 4  # default_sample_size
            if flags & 0x20:
                default_flags = struct.unpack_from(">I", buf, pos)[0]
        elif kind == "tfdt":
            fmt = ">Q" if version == 1 else ">I"
            base_time = struct.unpack_from(fmt, buf, body + 4)[0]
        elif kind == "trun":
            n = struct.unpack_from(">I", buf, body + 4)[0]
            pos = body + 8
            if flags & 0x001:
                pos += 4  # data_offset
            if flags & 0x004:
                first_flags = struct.unpack_from(">I", buf, pos)[0]
                pos += 4
            per_sample = [(0x100, 4), (0x200, 4), (0x400, 4), (0x800, 4)]
            stride = sum(width for bit, width in per_sample if flags & bit)
            for i in range(n):
                entry = pos + i * stride
                if flags & 0x100:
                    duration += struct.unpack_from(">I", buf, entry)[0]
                else:
                    duration += default_duration
                if i == 0 and first_flags is None and flags & 0x400:
                    skip = 4 * bool(flags & 0x100) + 4 * bool(flags & 0x200)
                    first_flags = struct.unpack_from(">I", buf, entry + skip)[0]
            count += n
    if first_flags is None:
        first_flags = default_flags
    return TrackRun(track_id, base_time, duration, count, not first_flags & _NON_SYNC)


class FragmentReader:
    """Accumulates muxer output; hands back the init segment once, then whole fragments."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.init: bytes | None = None

    def feed(self, data: bytes) -> list[Fragment]:
        self._buf += data
        fragments: list[Fragment] = []
        consumed = 0
        moof: tuple[int, int] | None = None
        for kind, off, size in iter_boxes(self._buf):
            if self.init is None:
                if kind == "moov":
                    self.init = bytes(self._buf[: off + size])
                    consumed = off + size
            elif kind == "moof":
                moof = (off, size)
            elif kind == "mdat" and moof is not None:
                chunk = bytes(self._buf[moof[0] : off + size])
                fragments.append(Fragment(chunk, parse_moof(chunk[: moof[1]])))
                moof = None
                consumed = off + size
        del self._buf[:consumed]
        return fragments
