"""Audio and video of one session on one clock: arrival anchors, then sender reports."""

from __future__ import annotations

import pytest

from ingest.whip.av_clock import MAX_STEER, SessionClock


def test_tracks_start_at_their_arrival_and_follow_their_own_timestamps():
    clock = SessionClock(epoch=1000.0)
    assert clock.place("video", 0.0, arrival=1001.0) == pytest.approx(1.0)
    assert clock.place("audio", 5.0, arrival=1001.2) == pytest.approx(1.2)
    # Later frames keep the anchor whatever their arrival jitter.
    assert clock.place("video", 0.5, arrival=1009.0) == pytest.approx(1.5)
    assert clock.place("audio", 5.02, arrival=1001.0) == pytest.approx(1.22)
    assert clock.av_offset == pytest.approx(4.8)  # anchors are at each track's pts 0


def test_sender_reports_steer_video_onto_audio_a_little_per_frame():
    clock = SessionClock(epoch=0.0)
    clock.place("audio", 0.0, arrival=10.08)  # aiortc holds audio longer: it arrives late
    clock.place("video", 0.0, arrival=10.0)
    # The sender says both tracks' pts 0 were captured at the same instant.
    clock.sender_report("audio", 5000.0)
    clock.sender_report("video", 5000.0)
    placed = [clock.place("video", i / 30, arrival=0.0) - i / 30 for i in range(1, 60)]
    steps = [b - a for a, b in zip([10.0, *placed], placed)]
    assert all(0 < step <= MAX_STEER + 1e-12 for step in steps[:20])
    assert placed[-1] == pytest.approx(10.08)
    assert clock.av_offset == pytest.approx(0.0)


def test_a_track_starting_after_both_reports_is_placed_by_them():
    clock = SessionClock(epoch=0.0)
    clock.place("audio", 0.0, arrival=20.0)
    clock.sender_report("audio", 700.0)
    clock.sender_report("video", 700.25)  # video's pts 0 was captured 250 ms after audio's
    assert clock.place("video", 0.0, arrival=20.9) == pytest.approx(20.25)


def test_reports_that_disagree_wildly_with_arrival_are_ignored():
    clock = SessionClock(epoch=0.0)
    clock.place("audio", 0.0, arrival=3.0)
    clock.place("video", 0.0, arrival=3.0)
    clock.sender_report("audio", 100.0)
    clock.sender_report("video", 160.0)  # a minute apart: not one clock
    assert clock.place("video", 0.1, arrival=0.0) == pytest.approx(3.1)


def test_late_stamped_reports_do_not_move_the_target():
    """A busy sender stamps some reports late (its ntp_zero comes out later); the earliest of
    the recent reports is the one to believe."""
    clock = SessionClock(epoch=0.0)
    clock.place("audio", 0.0, arrival=5.0)
    clock.place("video", 0.0, arrival=5.0)
    for late in (0.0, 0.004, 0.001, 0.006):
        clock.sender_report("audio", 900.0 + late)
        clock.sender_report("video", 900.0 + late / 2)
    for i in range(1, 30):
        clock.place("video", i / 30, arrival=0.0)
    assert clock.av_offset == pytest.approx(0.0)


def test_session_times_map_back_to_the_wall_clock():
    clock = SessionClock(epoch=1700000000.0)
    at = clock.place("video", 0.0, arrival=1700000002.5)
    assert clock.wallclock(at) == pytest.approx(1700000002.5)
