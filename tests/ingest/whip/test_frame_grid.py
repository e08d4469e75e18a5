"""The ingest encode's constant-rate grid: every frame lasts one period, the phase follows the
source, faster sources are decimated and slower ones repeated."""

from __future__ import annotations

import random

import pytest

from ingest.whip.frame_grid import MAX_STEP, FrameGrid, Slot

PERIOD = 1 / 30


def run(grid: FrameGrid, times: list[float]) -> list[list[Slot]]:
    return [grid.place(t) for t in times]


def durations(placed: list[list[Slot]]) -> list[float]:
    slots = [s for group in placed for s in group]
    assert [s.index for s in slots] == list(range(slots[0].index, slots[0].index + len(slots)))
    return [b.time - a.time for a, b in zip(slots, slots[1:])]


def test_a_jittery_camera_gets_one_slot_per_frame_and_even_durations():
    rng = random.Random(7)
    times = [5 + i * PERIOD + rng.uniform(-0.004, 0.004) for i in range(900)]
    grid = FrameGrid(30, max_hold=2)
    placed = run(grid, times)
    assert grid.dropped == grid.repeated == 0
    assert all(abs(d - PERIOD) <= MAX_STEP + 1e-9 for d in durations(placed))
    six = [sum(durations(placed)[i : i + 6]) for i in range(0, 890, 6)]
    assert max(six) < 0.2 + 0.001, "a part of six frames stays inside PART-TARGET"


def test_a_2997_source_is_followed_without_drops_or_repeats():
    times = [i * 1001 / 30000 for i in range(30 * 120)]  # two minutes of NTSC rate
    grid = FrameGrid(30, max_hold=2)
    placed = run(grid, times)
    assert grid.dropped == grid.repeated == 0
    last = placed[-1][-1]
    assert last.time == pytest.approx(times[-1], abs=0.002), "the phase followed the source"


def test_the_phase_converges_on_the_frames():
    grid = FrameGrid(30, max_hold=2)
    grid.place(0.0)
    # The source jumps 12 ms later (an A/V correction): frames are at +12 ms from their slots.
    placed = run(grid, [0.012 + i * PERIOD for i in range(1, 300)])
    errors = [group[-1].time - t for group, t in zip(placed, [0.012 + i * PERIOD for i in range(1, 300)])]
    assert abs(errors[0]) > 0.01 and abs(errors[-1]) < 0.0005


def test_a_60fps_source_is_decimated_and_a_15fps_one_repeated():
    fast = FrameGrid(30, max_hold=2)
    run(fast, [i / 60 for i in range(600)])
    assert fast.dropped == pytest.approx(300, abs=2) and fast.repeated == 0
    slow = FrameGrid(30, max_hold=2)
    placed = run(slow, [i / 15 for i in range(150)])
    assert slow.repeated == pytest.approx(149, abs=2)
    assert all(abs(d - PERIOD) <= MAX_STEP + 1e-9 for d in durations(placed))


def test_a_long_stall_leaves_a_gap_instead_of_a_burst_of_repeats():
    grid = FrameGrid(30, max_hold=2)
    run(grid, [i * PERIOD for i in range(10)])
    [after] = grid.place(9 * PERIOD + 5.0)
    assert grid.repeated == 0
    assert after.index == 9 + 150 and after.time == pytest.approx(9 * PERIOD + 5.0)
