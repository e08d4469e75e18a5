"""The live window of one rendition: segmenting policy, sliding window, retention and waiting.

The packager feeds parts (complete CMAF fragments) in; the origin reads immutable
:class:`WindowSnapshot` objects and media bytes out, and awaits progress for blocking playlist
reloads and preload-hint fetches. Everything runs on the event loop, so there is no locking.

Numbering: parts have one running index across the window's life (``part{N}.m4s``), segments a
Media Sequence Number (``seg{MSN}.m4s``), init segments an id (``init{N}.mp4``). All three start
at ``first_sequence`` so that a later session of the same stream (a new window) can avoid
reusing URLs that caches may still hold with another session's bytes.

Retention is measured on the media clock (seconds of media added), not the wall clock, so memory
depends only on how much media went through, and tests need no sleeping. Following
draft-pantos-hls-rfc8216bis §6.2.2, a segment that leaves the playlist stays fetchable for its
own duration plus the playlist's duration, and a part whose EXT-X-PART tag is dropped stays
fetchable for three target durations.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import structlog

from packager.live.hls_rules import rounded_duration, segment_bit_rates
from packager.live.waiters import ProgressWaiters

if TYPE_CHECKING:
    from packager.live.stream_recorder import RenditionRecorder

log = structlog.get_logger(__name__)

MIN_PART_RATIO = 0.85
"""rfc8216bis §4.4.4.9: parts are at least 85 % of PART-TARGET, except independent parts and the
final part of a parent segment."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantInfo:
    """One rendition as the multivariant playlist lists it (an ``EXT-X-STREAM-INF``).

    ``name`` is the rendition's path component (``{name}/index.m3u8``). ``codecs`` is the RFC 6381
    list, comma-separated (``"avc1.64001f,mp4a.40.2"``), covering every format in the rendition.
    ``bandwidth`` is the peak segment bit rate and ``average_bandwidth`` the mean, in bits per
    second (:meth:`LiveWindow.peak_bitrate` / :meth:`LiveWindow.average_bitrate` measure them).
    RESOLUTION is written only when ``width`` and ``height`` are both known (non-zero).
    """

    name: str
    codecs: str
    bandwidth: int
    average_bandwidth: int | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None


@dataclass(frozen=True, slots=True)
class SegmentStart:
    """Where a leading rendition opened a segment; followers open theirs with the same numbers.

    ``discontinuities_before`` counts the leader's EXT-X-DISCONTINUITY segments before this one,
    which a follower's first segment needs as its EXT-X-DISCONTINUITY-SEQUENCE. Followers take
    ``program_date_time`` too: the wall-clock anchor is refined during a session's first seconds,
    and a rung's part, stamped later, could otherwise be dated a millisecond or two apart.
    """

    msn: int
    discontinuity: bool
    discontinuities_before: int
    program_date_time: float


@dataclass(frozen=True, slots=True)
class PartInfo:
    index: int
    duration: float
    independent: bool


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A segment as a playlist shows it; the open (still growing) segment has ``complete=False``.

    ``parts`` is empty once the segment's EXT-X-PART tags have left the playlist.
    ``program_date_time`` is the ingest wall clock of its first sample (``time.time()`` seconds).
    """

    msn: int
    duration: float
    program_date_time: float
    init_id: int
    discontinuity: bool
    complete: bool
    parts: tuple[PartInfo, ...]


@dataclass(frozen=True, slots=True)
class WindowSnapshot:
    """Everything the playlist writer needs, frozen at one instant."""

    target_duration: int
    part_target: float
    media_sequence: int
    discontinuity_sequence: int
    segments: tuple[SegmentInfo, ...]
    next_part_index: int
    ended: bool


class _StoredPart(NamedTuple):
    data: bytes
    init_id: int


@dataclass(slots=True)
class _Segment:
    msn: int
    init_id: int
    discontinuity: bool
    program_date_time: float
    parts: list[PartInfo] = field(default_factory=list)
    duration: float = 0.0
    size: int = 0
    data: bytes | None = None
    parts_listed: bool = True

    def info(self) -> SegmentInfo:
        return SegmentInfo(
            msn=self.msn,
            duration=self.duration,
            program_date_time=self.program_date_time,
            init_id=self.init_id,
            discontinuity=self.discontinuity,
            complete=self.data is not None,
            parts=tuple(self.parts) if self.parts_listed else (),
        )


class LiveWindow:
    """Sliding LL-HLS window for one rendition. See the module docstring for the numbering rules."""

    def __init__(
        self,
        *,
        segment_target: float,
        window_segments: int,
        part_window_segments: int = 3,
        first_sequence: int = 0,
        recorder: RenditionRecorder | None = None,
        follows: bool = False,
    ) -> None:
        if segment_target <= 0 or window_segments < 1 or part_window_segments < 0:
            raise ValueError(
                "segment_target must be positive, window_segments at least 1"
                " and part_window_segments not negative"
            )
        self._segment_target = segment_target
        self._window_segments = window_segments
        self._part_window_segments = part_window_segments
        self._target_duration = math.ceil(segment_target)
        self._part_target: float | None = None
        self._recorder = recorder

        self._inits: dict[int, bytes] = {}
        self._init_id = first_sequence - 1
        self._complete: deque[_Segment] = deque()  # complete segments in the playlist, oldest first
        self._open: _Segment | None = None
        self._next_msn = first_sequence
        self._next_part_index = first_sequence
        self._media_sequence = first_sequence
        self._discontinuity_sequence = 0
        self._pending_discontinuity = False
        self._discontinuities = 0
        """Segments opened with EXT-X-DISCONTINUITY so far (followers number theirs the same)."""
        self._follows = follows
        self._ended = False

        # Fetchable bytes, including recently removed media (dicts keep chronological order).
        self._segments: dict[int, _Segment] = {}
        self._parts: dict[int, _StoredPart] = {}
        self._media_clock = 0.0
        self._segment_expiry: deque[tuple[float, int]] = deque()
        self._part_expiry: deque[tuple[float, list[int]]] = deque()

        self._last_complete_msn = first_sequence - 1
        self._last_position: tuple[int, int] | None = None
        self._segment_waiters: ProgressWaiters[int] = ProgressWaiters()
        self._position_waiters: ProgressWaiters[tuple[int, int]] = ProgressWaiters()
        self._index_waiters: ProgressWaiters[int] = ProgressWaiters()
        self._snapshot: WindowSnapshot | None = None

    # ------------------------------------------------------------------ packager side

    def set_init(self, data: bytes, part_target: float) -> None:
        """Start using a new init segment; the open segment closes so the next one gets the map.

        The first call fixes PART-TARGET for the window's life: the draft forbids changing it.
        """
        self._require_live()
        if self._part_target is None:
            if part_target <= 0:
                raise ValueError("part_target must be positive")
            self._part_target = part_target
        elif not math.isclose(part_target, self._part_target):
            log.warning("part_target_ignored", kept=self._part_target, offered=part_target)
        self._close_open_segment()
        self._init_id += 1
        self._inits[self._init_id] = data
        if self._recorder is not None:
            self._recorder.init_added(self._init_id, data)
        self._changed()
        log.info("live_init", init_id=self._init_id, size=len(data))

    def add_part(
        self,
        data: bytes,
        duration: float,
        independent: bool,
        wallclock: float,
        *,
        starts: SegmentStart | None = None,
    ) -> SegmentStart | None:
        """Append one part; returns the segment it opened, if it opened one.

        A leading window cuts segments itself (an independent part starts a new one when
        :meth:`_cuts_before`). A following window cuts only where its leader did: ``starts`` is
        the leader's segment that begins at this part's media time. Parts before a follower's
        first segment are dropped, since every segment must start where the leader's does.
        ``wallclock`` dates a segment this part opens (a follower takes the leader's date).
        """
        self._require_live()
        if self._part_target is None:
            raise RuntimeError("add_part() before set_init()")
        segment = self._open
        opened: SegmentStart | None = None
        if self._follows:
            if starts is not None:
                self._close_open_segment()
                segment = self._open_following(starts)
                opened = starts
            elif segment is None:
                return None
        else:
            if segment is not None and independent and self._cuts_before(segment, self._part_target):
                self._close_open_segment()
                segment = None
            if segment is None:
                segment = self._open_segment(wallclock)
                opened = SegmentStart(
                    segment.msn,
                    segment.discontinuity,
                    self._discontinuities - segment.discontinuity,
                    segment.program_date_time,
                )

        part = PartInfo(index=self._next_part_index, duration=duration, independent=independent)
        self._next_part_index += 1
        segment.parts.append(part)
        segment.duration += duration
        segment.size += len(data)
        self._parts[part.index] = _StoredPart(data, segment.init_id)
        self._media_clock += duration
        self._last_position = (segment.msn, len(segment.parts) - 1)
        self._collect_expired()
        self._changed()
        self._position_waiters.release(self._last_position)
        self._index_waiters.release(part.index)
        return opened

    def expects(self, start: SegmentStart) -> bool:
        """Whether a follower can open ``start`` next: MSNs in a playlist have no gaps."""
        return self._last_position is None or start.msn == self._next_msn

    def discontinuity(self) -> None:
        """The publisher reconnected: the next segment carries EXT-X-DISCONTINUITY."""
        self._require_live()
        self._close_open_segment()
        if self._last_position is not None:  # before the first part there is nothing to break
            self._pending_discontinuity = True
        log.info("live_discontinuity", next_msn=self._next_msn)

    def end(self) -> None:
        """Close the open segment and end the playlist; every blocked waiter is answered now."""
        if self._ended:
            return
        self._close_open_segment()
        self._ended = True
        self._changed()
        for waiters in (self._segment_waiters, self._position_waiters, self._index_waiters):
            waiters.release_all()
        log.info("live_ended", last_msn=self._last_complete_msn)

    # ------------------------------------------------------------------ origin side

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def target_duration(self) -> int:
        return self._target_duration

    @property
    def part_target(self) -> float | None:
        """``None`` until the first :meth:`set_init`."""
        return self._part_target

    @property
    def next_part_index(self) -> int:
        """Index of the part the preload hint names."""
        return self._next_part_index

    @property
    def last_position(self) -> tuple[int, int] | None:
        """``(msn, part index within the segment)`` of the newest part, for rendition reports."""
        return self._last_position

    @property
    def pending_waiters(self) -> int:
        """Requests currently blocked on this window (for metrics and leak checks)."""
        return sum(
            len(waiters)
            for waiters in (self._segment_waiters, self._position_waiters, self._index_waiters)
        )

    def peak_bitrate(self) -> int:
        """Highest segment bit rate in the window (bits/s), for BANDWIDTH; see :meth:`_measured`."""
        return segment_bit_rates(self._measured())[0]

    def average_bitrate(self) -> int:
        """Mean bit rate over the window (bits/s), for AVERAGE-BANDWIDTH."""
        return segment_bit_rates(self._measured())[1]

    def snapshot(self) -> WindowSnapshot:
        """The current playlist state; cached until the next change, so readers share one object."""
        if self._part_target is None:
            raise RuntimeError("snapshot() before set_init()")
        if self._snapshot is None:
            segments = [segment.info() for segment in self._complete]
            if self._open is not None:
                segments.append(self._open.info())
            self._snapshot = WindowSnapshot(
                target_duration=self._target_duration,
                part_target=self._part_target,
                media_sequence=self._media_sequence,
                discontinuity_sequence=self._discontinuity_sequence,
                segments=tuple(segments),
                next_part_index=self._next_part_index,
                ended=self._ended,
            )
        return self._snapshot

    def init_bytes(self, init_id: int) -> bytes | None:
        return self._inits.get(init_id)

    def segment_bytes(self, msn: int) -> bytes | None:
        """A complete segment still in the playlist or within its retention; else ``None``."""
        segment = self._segments.get(msn)
        return None if segment is None else segment.data

    def part_bytes(self, index: int) -> bytes | None:
        stored = self._parts.get(index)
        return None if stored is None else stored.data

    def contains(self, msn: int, part: int | None) -> bool:
        """Whether the playlist holds segment ``msn`` (complete) or part ``(msn, part)``, or later.

        A part index past the segment's last part means part 0 of the next segment
        (rfc8216bis §6.2.5.2), which tuple order gives for free.
        """
        if part is None:
            return self._last_complete_msn >= msn
        return self._last_position is not None and self._last_position >= (msn, part)

    async def wait_for(self, msn: int, part: int | None, timeout: float) -> bool:
        """Wait until :meth:`contains` holds; ``False`` on timeout or if the stream ended first."""
        if not self.contains(msn, part) and not self._ended:
            if part is None:
                await self._segment_waiters.wait(msn, timeout)
            else:
                await self._position_waiters.wait((msn, part), timeout)
        return self.contains(msn, part)

    async def wait_part(self, index: int, timeout: float) -> bytes | None:
        """The bytes of part ``index``, waiting for it if it is still to come (preload hints)."""
        if index >= self._next_part_index and not self._ended:
            await self._index_waiters.wait(index, timeout)
        return self.part_bytes(index)

    async def wait_ready(self, timeout: float) -> bool:
        """Wait for the first part: until then there is nothing a player could start with."""
        if self._last_position is None and not self._ended:
            await self._index_waiters.wait(self._next_part_index, timeout)
        return self._last_position is not None

    # ------------------------------------------------------------------ internals

    def _require_live(self) -> None:
        if self._ended:
            raise RuntimeError("the live window has ended")

    def _changed(self) -> None:
        self._snapshot = None

    def _cuts_before(self, segment: _Segment, part_target: float) -> bool:
        """Whether an independent part arriving now starts a new segment.

        Once the open segment reaches ``segment_target - part_target / 2``, so GOPs of exactly
        the target cut on every keyframe despite timestamp jitter (a longer GOP runs to the next
        keyframe and may raise the target duration). Also right after a short, non-independent
        part: packagers end a part early at each keyframe, and only a segment's final part may
        be that short (:data:`MIN_PART_RATIO`), so GOPs like 1.48 s give 1.48 s segments.
        """
        last = segment.parts[-1]
        return segment.duration >= self._segment_target - part_target / 2 or (
            not last.independent and last.duration < MIN_PART_RATIO * part_target
        )

    def _open_following(self, start: SegmentStart) -> _Segment:
        if self._last_position is None:
            # The first segment: take the leader's numbering so the same MSN (and discontinuity
            # sequence number) means the same media time in every rendition.
            self._next_msn = self._media_sequence = start.msn
            self._last_complete_msn = start.msn - 1
            self._discontinuity_sequence = start.discontinuities_before
        elif start.msn != self._next_msn:
            raise ValueError(f"segment {start.msn} does not follow {self._next_msn - 1}")
        self._pending_discontinuity = start.discontinuity
        return self._open_segment(start.program_date_time)

    def _open_segment(self, wallclock: float) -> _Segment:
        self._discontinuities += self._pending_discontinuity
        segment = _Segment(
            msn=self._next_msn,
            init_id=self._init_id,
            discontinuity=self._pending_discontinuity,
            program_date_time=wallclock,
        )
        self._next_msn += 1
        self._pending_discontinuity = False
        self._open = segment
        return segment

    def _close_open_segment(self) -> None:
        segment = self._open
        if segment is None:
            return
        self._open = None
        segment.data = b"".join(self._parts[part.index].data for part in segment.parts)
        self._segments[segment.msn] = segment
        if self._recorder is not None:
            self._recorder.segment_completed(segment.info(), segment.data)
        self._complete.append(segment)
        self._last_complete_msn = segment.msn
        # Never below an EXTINF rounded to the nearest integer (half up), never decreasing.
        self._target_duration = max(self._target_duration, rounded_duration(segment.duration))
        if len(self._complete) > self._part_window_segments:
            self._unlist_parts(self._complete[-self._part_window_segments - 1])
        self._slide()
        self._changed()
        self._segment_waiters.release(segment.msn)
        log.debug("live_segment", msn=segment.msn, duration=round(segment.duration, 5))

    def _slide(self) -> None:
        """Drop the oldest segments beyond ``window_segments``, keeping ≥ 3 target durations.

        rfc8216bis §6.2.2 forbids shrinking a live playlist below three target durations, so a
        small ``window_segments`` with short segments keeps a few more.
        """
        playlist_duration = sum(segment.duration for segment in self._complete)
        while len(self._complete) > self._window_segments and (
            playlist_duration - self._complete[0].duration >= 3 * self._target_duration
        ):
            segment = self._complete.popleft()
            self._media_sequence += 1
            if segment.discontinuity:
                self._discontinuity_sequence += 1
            self._unlist_parts(segment)
            free_at = self._media_clock + segment.duration + playlist_duration
            self._segment_expiry.append((free_at, segment.msn))
            playlist_duration -= segment.duration

    def _unlist_parts(self, segment: _Segment) -> None:
        if not segment.parts_listed:
            return
        segment.parts_listed = False
        free_at = self._media_clock + 3 * self._target_duration
        self._part_expiry.append((free_at, [part.index for part in segment.parts]))

    def _collect_expired(self) -> None:
        """Free removed media whose retention has run out on the media clock."""
        while self._part_expiry and self._part_expiry[0][0] <= self._media_clock:
            for index in self._part_expiry.popleft()[1]:
                del self._parts[index]
        while self._segment_expiry and self._segment_expiry[0][0] <= self._media_clock:
            del self._segments[self._segment_expiry.popleft()[1]]
        oldest_in_use = min(
            (
                next(iter(self._segments.values())).init_id if self._segments else self._init_id,
                next(iter(self._parts.values())).init_id if self._parts else self._init_id,
            )
        )
        for init_id in [init_id for init_id in self._inits if init_id < oldest_in_use]:
            del self._inits[init_id]

    def _measured(self) -> list[tuple[int, float]]:
        """``(bytes, seconds)`` of the complete segments in the window, or of the open segment
        while none is complete, so a multivariant playlist served right after start-up has an
        estimate rather than zero."""
        segments = list(self._complete) or ([self._open] if self._open is not None else [])
        return [(s.size, s.duration) for s in segments]
