"""The PyAV CMAF muxer on real x264/AAC packets: parts decode, timing is exact."""

from __future__ import annotations

from dataclasses import replace

import av
import pytest

from packager.cmaf_muxer import CmafMuxer, Part, TimedPacket, plan_part_target, snap_frame_duration
from packager.media import MediaPacket
from packager.timeline import Timeline
from tests.support.media import encode_flv


def remux(encoded, part_target: float = 0.2) -> tuple[CmafMuxer, list[Part]]:
    timeline = Timeline(0, encoded.audio.sample_rate)
    muxer = CmafMuxer(encoded.video, encoded.audio, part_target=part_target)
    parts: list[Part] = []
    for p in encoded.packets:
        if p.kind == "video":
            dts, pts = timeline.video(p)
            parts += muxer.write(TimedPacket("video", dts, pts, p.keyframe, p.data))
        else:
            dts = timeline.audio(p)
            assert dts is not None, "a well-behaved source never needs audio dropped"
            parts += muxer.write(TimedPacket("audio", dts, dts, True, p.data))
    parts += muxer.close()
    return muxer, parts


@pytest.mark.parametrize(
    ("fps", "gop", "bframes", "rate"),
    [(30, 60, 0, 48_000), (30, 45, 2, 44_100), (25, 37, 3, 48_000)],
)
def test_parts_decode_with_exact_timing(tmp_path, fps, gop, bframes, rate):
    encoded = encode_flv(3.0, fps=fps, gop=gop, bframes=bframes, sample_rate=rate)
    muxer, parts = remux(encoded)
    assert muxer.init_segment and parts
    frame = 1 / fps
    assert muxer.part_target == pytest.approx(0.2 + 0.001, abs=0.0015)
    for before, after in zip(parts, parts[1:]):
        assert after.start == pytest.approx(before.start + before.duration, abs=1e-6)
    for part in parts[:-1]:
        assert part.duration <= muxer.part_target + 1e-9
    keyframe_times = {round(parts[0].start + i * gop * frame, 3) for i in range(10)}
    independent = {round(p.start, 3) for p in parts if p.independent}
    assert independent <= keyframe_times and len(independent) >= 2

    path = tmp_path / "out.mp4"
    path.write_bytes(muxer.init_segment + b"".join(p.data for p in parts))
    with av.open(str(path)) as c:
        video_frames = list(c.decode(video=0))
    with av.open(str(path)) as c:
        audio_packets = [p for p in c.demux(audio=0) if p.size]
        audio_frames = [f for p in audio_packets for f in p.decode()]
    sent_video = sum(1 for p in encoded.packets if p.kind == "video")
    first_video = next(i for i, p in enumerate(encoded.packets) if p.kind == "video")
    # Audio that arrives before the first keyframe is dropped: a part must start decodable.
    sent_audio = sum(1 for p in encoded.packets[first_video:] if p.kind == "audio")
    assert len(video_frames) == sent_video
    assert len(audio_packets) == sent_audio
    assert len(audio_frames) >= sent_audio - 2  # AAC decoders swallow priming frames
    pts = [f.time for f in video_frames]
    assert pts == sorted(pts)  # presentation order restored despite B-frames
    assert audio_frames[0].sample_rate == rate
    # A/V sync: the offset between the first picture and the first sound is the publisher's,
    # within one AAC frame (audio is re-clocked to whole frames).
    keyframe = encoded.packets[first_video]
    first_audio = next(p for p in encoded.packets[first_video:] if p.kind == "audio")
    sent_offset = (keyframe.dts_ms + keyframe.cts_ms - first_audio.dts_ms) / 1000
    out_offset = video_frames[0].time - float(audio_packets[0].pts * audio_packets[0].time_base)
    assert abs(out_offset - sent_offset) <= 1024 / rate


def test_parts_stay_within_part_target_when_timestamps_jump_back(tmp_path):
    """An encoder restarting its clock mid-stream (2 B-frames, so decode and presentation order
    differ), the frames around the restart arriving in one burst. The restarted frame used to be
    re-based by its arrival gap (0 ms → a 1 ms frame) and the audio after it re-based again, which
    stretched the next frame by some 30 ms: movenc then put six frames and the stretch into one
    part, past PART-TARGET (0.23 s against 0.201 s; 0.231 s in CI). Every part must fit the
    advertised target and the pictures still come out in order, one frame apart."""
    encoded = encode_flv(4.0, fps=30, gop=30, bframes=2)

    def restart_midway(packet: MediaPacket) -> MediaPacket:
        ms = packet.dts_ms
        stamp = 500_000 + ms if ms < 1500 else ms - 1500
        received = 1001.5 if 1460 <= ms <= 1500 else packet.received
        return replace(packet, dts_ms=stamp, received=received)

    jumped = replace(encoded, packets=[restart_midway(p) for p in encoded.packets])
    muxer, parts = remux(jumped)
    assert muxer.part_target is not None
    for part in parts:
        assert part.duration <= muxer.part_target + 1e-9, (part.start, part.duration)

    path = tmp_path / "out.mp4"
    path.write_bytes(muxer.init_segment + b"".join(p.data for p in parts))
    with av.open(str(path)) as c:
        pts = [f.time for f in c.decode(video=0)]
    assert len(pts) == sum(1 for p in encoded.packets if p.kind == "video")
    assert all(0.032 < b - a < 0.035 for a, b in zip(pts, pts[1:]))


def test_frame_rate_snapping_and_part_planning():
    assert 1 / snap_frame_duration(0.0333) == pytest.approx(30)
    assert 1 / snap_frame_duration(0.0334) == pytest.approx(29.97)
    assert 1 / snap_frame_duration(0.0417) == pytest.approx(23.976)
    assert snap_frame_duration(0.07) == 0.07  # 14.3 fps is nothing standard: keep it
    assert plan_part_target(0.2, 1 / 30) == pytest.approx(0.2)
    assert plan_part_target(0.2, 1 / 29.97) == pytest.approx(6 / 29.97)
