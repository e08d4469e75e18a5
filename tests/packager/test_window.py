"""LiveWindow: segmenting policy, sliding window, retention, target duration and waiting."""

from __future__ import annotations

import asyncio
import time

import pytest

from packager.live.window import LiveWindow, SegmentInfo, SegmentStart
from tests.packager.conftest import EPOCH, PART


def complete(window: LiveWindow) -> list[SegmentInfo]:
    return [segment for segment in window.snapshot().segments if segment.complete]


def part_counts(window: LiveWindow) -> list[int]:
    return [len(segment.parts) for segment in complete(window)]


# ---------------------------------------------------------------- segmenting


def test_gop_equal_to_target_cuts_on_every_keyframe(make_window, encoder):
    window = make_window(part_window_segments=10)
    encoder(window, gop=2.0).run(10.2)
    segments = complete(window)
    assert [segment.msn for segment in segments] == [0, 1, 2, 3, 4]
    assert part_counts(window) == [10] * 5
    assert all(segment.duration == pytest.approx(2.0) for segment in segments)
    assert all(segment.parts[0].independent for segment in segments)
    assert not any(part.independent for segment in segments for part in segment.parts[1:])
    assert window.target_duration == 2


def test_jittered_timestamps_still_cut_on_every_keyframe(make_window, encoder):
    window = make_window(part_window_segments=20)
    encoder(window, gop=2.0, jitter=0.02).run(30.2)
    assert part_counts(window)[-6:] == [10] * 6
    assert window.target_duration == 2


def test_short_gops_are_grouped_until_the_target_is_reached(make_window, encoder):
    window = make_window(part_window_segments=10)
    encoder(window, gop=0.8).run(9.8)  # keyframes every 4 parts: 1.6 s is short, 2.4 s cuts
    assert part_counts(window) == [12] * 4
    assert window.target_duration == 2  # 2.4 rounds to 2

    window = make_window(part_window_segments=10)
    encoder(window, gop=1.0).run(8.2)
    assert part_counts(window) == [10] * 4


def test_long_gops_run_to_the_next_keyframe_and_raise_the_target_for_good(make_window, encoder):
    window = make_window(part_window_segments=10, window_segments=10)
    feed = encoder(window, gop=4.0)
    feed.run(8.2)
    assert part_counts(window) == [20, 20]
    assert window.target_duration == 4
    feed.gop = 2.0
    feed.run(20)
    assert part_counts(window)[-5:] == [10] * 5
    assert window.target_duration == 4  # never decreases


def test_a_short_part_before_a_keyframe_ends_its_segment(make_window, epoch):
    """25 fps, GOP of 37 frames: parts of 5 frames, then a 2-frame part cut at the keyframe."""
    window = make_window()
    gop = [0.2] * 7 + [0.08]
    for n, duration in enumerate(gop * 3 + [0.2]):
        window.add_part(b"x", duration, n % len(gop) == 0, epoch + n)
    assert part_counts(window) == [8, 8, 8]
    assert [segment.duration for segment in complete(window)] == [pytest.approx(1.48)] * 3
    # A short part that is itself independent needs no cut: it is allowed to be short.
    window = make_window()
    for n, (duration, independent) in enumerate([(0.2, True), (0.1, True), (0.2, True)]):
        window.add_part(b"x", duration, independent, epoch + n)
    assert window.snapshot().segments[0].parts[-1].index == 2


@pytest.mark.parametrize(("extinf", "target"), [(2.49, 2), (2.5, 3), (3.4, 3)])
def test_target_duration_covers_extinf_rounded_half_up(make_window, epoch, extinf, target):
    window = make_window()
    for start in (0.0, extinf):
        window.add_part(b"x", extinf, True, epoch + start)
    assert window.target_duration == target


def test_first_part_after_a_gap_starts_a_segment_even_without_keyframe(make_window, encoder):
    window = make_window()
    feed = encoder(window)
    feed.run(1.0)
    window.discontinuity()
    feed.add(independent=False)
    snapshot = window.snapshot()
    assert [(s.msn, s.complete) for s in snapshot.segments] == [(0, True), (1, False)]
    assert snapshot.segments[1].discontinuity
    assert not snapshot.segments[1].parts[0].independent


# ---------------------------------------------------------------- reconnects


def test_discontinuity_new_map_and_discontinuity_sequence_after_sliding(make_window, encoder):
    window = make_window(window_segments=3)
    feed = encoder(window)
    feed.run(6.0)
    window.discontinuity()
    window.set_init(b"init-1", 0.2)
    feed.run(2.2)
    segments = complete(window)
    assert [(s.msn, s.init_id, s.discontinuity) for s in segments] == [
        (0, 0, False),
        (1, 0, False),
        (2, 0, False),
        (3, 1, True),
    ][-len(segments) :]
    assert window.snapshot().discontinuity_sequence == 0

    feed.run(8)  # segment 3 (and its discontinuity) slides out
    snapshot = window.snapshot()
    assert snapshot.segments[0].msn > 3
    assert snapshot.discontinuity_sequence == 1
    assert snapshot.media_sequence == snapshot.segments[0].msn
    assert all(segment.init_id == 1 for segment in snapshot.segments)


def test_a_second_init_closes_the_open_segment_and_part_target_stays(make_window, encoder):
    window = make_window()
    feed = encoder(window)
    feed.run(1.0)
    window.set_init(b"init-1", 0.5)
    assert window.part_target == 0.2
    feed.run(0.4)
    first, second = window.snapshot().segments
    assert (first.complete, first.init_id, second.init_id) == (True, 0, 1)
    assert not second.discontinuity  # a map change alone is not a discontinuity
    assert window.init_bytes(1) == b"init-1"


# ---------------------------------------------------------------- window, parts, retention


def test_sliding_window_lists_parts_only_near_the_live_edge(make_window, encoder):
    window = make_window(window_segments=4, part_window_segments=2)
    feed = encoder(window)
    feed.run(21.0)  # ten complete segments and half an open one
    snapshot = window.snapshot()
    assert [s.msn for s in snapshot.segments] == [6, 7, 8, 9, 10]
    assert snapshot.media_sequence == 6
    assert [len(s.parts) for s in snapshot.segments] == [0, 0, 10, 10, 5]
    assert snapshot.segments[-1].complete is False


def test_segment_bytes_are_the_parts_concatenated(make_window, encoder):
    window = make_window()
    encoder(window).run(2.2)
    segment = complete(window)[0]
    assert window.segment_bytes(0) == b"".join(
        window.part_bytes(part.index) or b"" for part in segment.parts
    )
    assert window.segment_bytes(1) is None  # still open


def test_removed_media_stays_fetchable_for_a_while_then_memory_is_bounded(make_window, encoder):
    window = make_window(window_segments=4, part_window_segments=2)
    feed = encoder(window)
    feed.run(10.2)
    assert window.snapshot().media_sequence == 1
    assert window.segment_bytes(0) is not None  # just left the playlist: still served
    assert window.part_bytes(0) is not None

    feed.run(200)
    last_msn = window.snapshot().segments[-1].msn
    fetchable_segments = [m for m in range(last_msn + 1) if window.segment_bytes(m)]
    fetchable_parts = [i for i in range(window.next_part_index) if window.part_bytes(i)]
    assert window.segment_bytes(0) is None and window.part_bytes(0) is None
    # Segments: 4 listed + 6 retained (its own 2 s + the 10 s playlist it left). Parts: 2 listed
    # segments and the open one + 3 target durations (3 segments) retained.
    assert len(fetchable_segments) <= 10
    assert len(fetchable_parts) <= 7 * 10
    assert fetchable_segments == list(range(fetchable_segments[0], fetchable_segments[-1] + 1))


def test_old_init_segments_are_freed_once_no_media_refers_to_them(make_window, encoder):
    window = make_window(window_segments=3)
    feed = encoder(window)
    feed.run(4.0)
    window.discontinuity()
    window.set_init(b"init-1", 0.2)
    feed.run(4.2)
    assert window.init_bytes(0) == b"init-0"
    feed.run(60)
    assert window.init_bytes(0) is None
    assert window.init_bytes(1) == b"init-1"


def test_playlist_never_shrinks_below_three_target_durations(make_window, encoder):
    window = make_window(window_segments=1)
    encoder(window).run(20.2)
    assert sum(segment.duration for segment in complete(window)) >= 3 * window.target_duration


def test_bitrates_of_the_window(make_window, epoch):
    window = make_window()
    assert (window.peak_bitrate(), window.average_bitrate()) == (0, 0)
    # Segments of ten 0.2 s parts; segment 2 starts with a 10 kB part; a last part closes it.
    sizes = [100] * 20 + [10_000] + [100] * 10
    for n, size in enumerate(sizes):
        window.add_part(b"x" * size, 0.2, n % 10 == 0, epoch + n * 0.2)
        if n == 4:  # only the open segment so far: an estimate beats nothing
            assert window.average_bitrate() == 100 * 8 / 0.2
    assert window.peak_bitrate() == (10_000 + 900) * 8 / 2
    assert window.average_bitrate() == (1_000 + 1_000 + 10_900) * 8 / 6


def test_misuse_is_refused(epoch):
    window = LiveWindow(segment_target=2.0, window_segments=3)
    with pytest.raises(RuntimeError):
        window.add_part(b"x", 0.2, True, epoch)
    window.set_init(b"init", 0.2)
    window.end()
    with pytest.raises(RuntimeError):
        window.add_part(b"x", 0.2, True, epoch)


def test_first_sequence_offsets_every_number(epoch):
    window = LiveWindow(segment_target=2.0, window_segments=3, first_sequence=5000)
    window.set_init(b"init", 0.2)
    window.add_part(b"x", 0.2, True, epoch)
    snapshot = window.snapshot()
    assert (snapshot.media_sequence, snapshot.segments[0].init_id) == (5000, 5000)
    assert snapshot.segments[0].parts[0].index == 5000
    assert window.next_part_index == 5001


# ---------------------------------------------------------------- waiting


async def test_wait_for_a_part_wakes_when_it_is_added(make_window, encoder):
    window = make_window()
    feed = encoder(window)
    feed.run(0.6)  # parts 0..2 of segment 0
    assert await window.wait_for(0, 2, timeout=0)
    waiter = asyncio.create_task(window.wait_for(0, 3, timeout=5))
    await asyncio.sleep(0.01)
    assert not waiter.done() and window.pending_waiters == 1
    started = time.perf_counter()
    feed.add()
    assert await waiter
    assert time.perf_counter() - started < 0.05
    assert window.pending_waiters == 0


async def test_wait_for_a_segment_needs_it_complete(make_window, encoder):
    window = make_window()
    feed = encoder(window)
    feed.run(1.0)
    waiter = asyncio.create_task(window.wait_for(0, None, timeout=5))
    feed.run(0.8)
    await asyncio.sleep(0)
    assert not waiter.done()
    feed.run(0.4)  # the next keyframe closes segment 0
    assert await waiter


async def test_part_past_the_last_of_a_segment_means_part_zero_of_the_next(make_window, encoder):
    window = make_window()
    feed = encoder(window)
    feed.run(2.0)
    window.discontinuity()  # segment 0 ends with parts 0..9
    assert not await window.wait_for(0, 10, timeout=0.01)
    waiter = asyncio.create_task(window.wait_for(0, 10, timeout=5))
    await asyncio.sleep(0)
    feed.add()
    assert await waiter


async def test_waits_are_bounded_and_leave_nothing_behind(make_window):
    window = make_window()
    results = await asyncio.gather(
        window.wait_for(3, None, timeout=0.02),
        window.wait_for(3, 1, timeout=0.02),
        window.wait_part(7, timeout=0.02),
        window.wait_ready(timeout=0.02),
    )
    assert results == [False, False, None, False]
    cancelled = asyncio.create_task(window.wait_for(1, 0, timeout=5))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert window.pending_waiters == 0


async def test_wait_part_and_wait_ready_return_the_new_part(make_window, encoder):
    window = make_window()
    ready = asyncio.create_task(window.wait_ready(timeout=5))
    hinted = asyncio.create_task(window.wait_part(window.next_part_index, timeout=5))
    await asyncio.sleep(0)
    encoder(window).add()
    assert await ready
    assert (await hinted or b"").startswith(b"[0]")


async def test_end_wakes_every_waiter_and_closes_the_segment(make_window, encoder):
    window = make_window()
    encoder(window).run(1.0)
    waiters = [
        asyncio.create_task(window.wait_for(0, 9, timeout=5)),
        asyncio.create_task(window.wait_for(1, None, timeout=5)),
        asyncio.create_task(window.wait_part(window.next_part_index, timeout=5)),
    ]
    await asyncio.sleep(0)
    started = time.perf_counter()
    window.end()
    assert await asyncio.gather(*waiters) == [False, False, None]
    assert time.perf_counter() - started < 0.05
    assert window.ended and window.snapshot().segments[-1].complete
    assert window.pending_waiters == 0
    assert await window.wait_for(5, 0, timeout=5) is False  # answered at once once ended


# ---------------------------------------------------------------- following windows (ladder rungs)


def test_a_following_window_cuts_where_its_leader_did_with_the_leaders_numbers(make_window):
    """A rung that starts late (here at a reconnect) numbers its segments, dates them and counts
    discontinuities exactly as the passthrough does for the same media."""
    leader = make_window(window_segments=3, first_sequence=100)
    starts: list[SegmentStart | None] = []  # per leader part: the segment it opened

    def run(seconds: float) -> None:  # 1 s GOPs of 0.2 s parts
        for _ in range(round(seconds / PART)):
            index = len(starts)
            starts.append(leader.add_part(b"x", PART, index % 5 == 0, EPOCH + index * PART))

    run(3.0)
    leader.discontinuity()
    leader.set_init(b"init-1", PART)
    run(5.0)
    opened = [s for s in starts if s is not None]
    assert [s.msn for s in opened] == list(range(100, 100 + len(opened)))
    cut = next(s for s in opened if s.discontinuity)
    assert cut.discontinuities_before == 0

    follower = LiveWindow(segment_target=2.0, window_segments=3, first_sequence=999_999, follows=True)
    follower.set_init(b"rung-init", PART)
    assert follower.add_part(b"y", PART, False, 0.0) is None  # before any start: dropped
    assert follower.last_position is None
    for index, start in enumerate(starts):
        if index >= starts.index(cut):  # the rung's media begins with the reconnect
            follower.add_part(b"y", PART, index % 5 == 0, 0.0, starts=start)
    follower.end()
    leader.end()
    mine, theirs = follower.snapshot(), leader.snapshot()
    their_segments = {s.msn: s for s in theirs.segments}
    assert mine.segments[0].msn == cut.msn and mine.segments[0].discontinuity
    assert mine.discontinuity_sequence == cut.discontinuities_before
    for segment in mine.segments:
        assert segment.duration == pytest.approx(their_segments[segment.msn].duration)
        assert segment.program_date_time == their_segments[segment.msn].program_date_time


def test_a_following_window_refuses_a_gap_in_its_numbers():
    follower = LiveWindow(segment_target=2.0, window_segments=3, follows=True)
    follower.set_init(b"rung-init", PART)
    first, third = SegmentStart(7, False, 0, EPOCH), SegmentStart(9, False, 0, EPOCH + 4)
    follower.add_part(b"y", PART, True, 0.0, starts=first)
    assert follower.expects(SegmentStart(8, False, 0, EPOCH + 2))
    assert not follower.expects(third)
    with pytest.raises(ValueError):
        follower.add_part(b"y", PART, True, 0.0, starts=third)
