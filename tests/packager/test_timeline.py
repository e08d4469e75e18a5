import pytest

from packager.media import MediaPacket
from packager.timeline import AAC_FRAME_SAMPLES, Timeline


def video(ms: int, received: float, cts: int = 0) -> MediaPacket:
    return MediaPacket("video", ms, cts, False, b"", received)


def audio(ms: int, received: float) -> MediaPacket:
    return MediaPacket("audio", ms, 0, True, b"", received)


def test_32bit_wrap_is_continuous():
    tl = Timeline(0, 48_000)
    start = 2**32 - 100
    outs = [tl.video(video((start + i * 33) % 2**32, 10 + i * 0.033))[0] for i in range(10)]
    steps = {b - a for a, b in zip(outs, outs[1:])}
    assert steps == {33 * 90} and tl.jumps == 0


def test_backward_jump_rebases_both_tracks_together():
    tl = Timeline(5_000, 48_000)
    for i in range(47):  # one second of 48 kHz AAC frames and 30 fps video
        tl.audio(audio(90_000 + round(i * 21.333), 10 + i * 0.021333))
        if i % 3 == 0:
            tl.video(video(90_000 + round(i / 3 * 33.333), 10 + i / 3 * 0.033333))
    before_v = tl.video(video(91_000, 11.0))[0]
    # Encoder restarted: timestamps drop to zero while the wall clock moves on by 40 ms.
    after_v = tl.video(video(0, 11.04))[0]
    after_a = tl.audio(audio(5, 11.045))
    assert tl.jumps == 1
    assert 0 < after_v - before_v <= 45 * 90
    assert abs(after_a / 48_000 - after_v / 90_000) < 0.05  # A/V stay together


def test_forward_jump_not_explained_by_wall_clock():
    tl = Timeline(0, None)
    tl.video(video(1_000, 50.0))
    out = tl.video(video(3_600_000, 50.033))[0]  # an hour later by the publisher's clock
    assert tl.jumps == 1 and out <= (1_000 + 40) * 90


def test_real_gap_is_kept():
    tl = Timeline(0, None)
    tl.video(video(1_000, 50.0))
    out = tl.video(video(6_000, 55.0))[0]  # five seconds of nothing, really
    assert tl.jumps == 0 and out == 5_000 * 90  # the timeline starts at 0 on the first packet


def test_audio_is_reclocked_to_whole_frames_without_drift():
    tl = Timeline(0, 44_100)
    outs = [tl.audio(audio(round(i * 1024 * 1000 / 44_100), 1 + i * 0.023)) for i in range(10_000)]
    assert all(b - a == AAC_FRAME_SAMPLES for a, b in zip(outs, outs[1:]))
    drift_ms = outs[-1] * 1000 / 44_100 - round(9_999 * 1024 * 1000 / 44_100)
    assert abs(drift_ms) < 1


def test_decode_times_strictly_increase():
    tl = Timeline(0, None)
    a = tl.video(video(100, 1.0))[0]
    b = tl.video(video(100, 1.001))[0]
    assert b > a


def test_audio_clock_slipping_behind_drops_frames_instead_of_going_back():
    """ffmpeg -stream_loop advances audio timestamps by 1 ms at each loop seam, so the publisher's
    audio clock falls ~20 ms behind the sample count per loop. Decode times must never go back:
    frames are dropped until audio is in sync again."""
    tl = Timeline(0, 48_000)
    sent_ms, received, outs = 0.0, 0.0, []
    for i in range(3_000):
        if i and i % 47 == 0:
            sent_ms -= 20  # a loop seam: the timestamps lose 20 ms
        out = tl.audio(audio(round(sent_ms), received))
        if out is not None:
            outs.append((out, sent_ms))
        sent_ms += 1024 / 48
        received += 1024 / 48_000
    assert all(b[0] > a[0] for a, b in zip(outs, outs[1:]))
    assert len(outs) < 3_000  # some frames were dropped to stay in sync
    last_out, last_sent = outs[-1]
    assert abs(last_out / 48 - last_sent) <= 100 + 1024 / 48  # within the resync budget


def restart_at_1500(late: dict[int, float]) -> tuple[Timeline, list[int]]:
    """30 fps video and 48 kHz audio whose encoder restarts its clock at 1.5 s (the publisher's
    timestamps drop from 501_500 to 0), paced except that the packets sent at the ``late`` keys'
    milliseconds arrive at the given ingest times. Returns the video decode times in ms."""
    sent = [("video", round(i * 100 / 3)) for i in range(60)]
    sent += [("audio", round(i * 64 / 3)) for i in range(94)]
    tl = Timeline(0, 48_000)
    outs: list[int] = []
    for kind, ms in sorted(sent, key=lambda item: item[1]):
        stamp = 500_000 + ms if ms < 1500 else ms - 1500
        received = late.get(ms, 10 + ms / 1000)
        if kind == "video":
            outs.append(tl.video(video(stamp, received))[0] // 90)
        else:
            tl.audio(audio(stamp, received))
    return tl, outs


@pytest.mark.parametrize(
    "late",
    [{1467: 11.5, 1493: 11.5}, {1500: 11.57, 1515: 11.57}],
    ids=["arrives-in-a-burst", "arrives-after-a-stall"],
)
def test_jump_is_rebased_at_the_cadence_not_the_arrival_gap(late):
    """The frame whose timestamp jumped back lands one frame after its predecessor whether it
    arrived together with it or 70 ms late: arrival jitter must not become a 1 ms or a 100 ms
    frame, and the audio after it is not re-based a second time (that stretched the next video
    frame instead), so every frame keeps the 30 fps cadence and LL-HLS parts their length."""
    tl, outs = restart_at_1500(late)
    assert tl.jumps == 1
    assert {b - a for a, b in zip(outs, outs[1:])} == {33, 34}


def test_a_real_pause_is_kept_across_a_jump():
    """Five seconds with nothing, then an encoder that restarted: the pause is media time."""
    tl = Timeline(0, None)
    outs = [tl.video(video(90_000 + i * 33, 10 + i * 0.033))[0] // 90 for i in range(10)]
    after = tl.video(video(0, 10 + 9 * 0.033 + 5))[0] // 90
    assert tl.jumps == 1 and abs(after - outs[-1] - 5_000) <= 1
