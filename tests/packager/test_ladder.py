"""The ABR ladder's encoding core: rung planning, and real transcodes whose renditions decode,
have the planned sizes, and switch at exactly the source's keyframes and part boundaries."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import av
import pytest

from packager.cmaf_muxer import CmafMuxer, Part, TimedPacket
from packager.ladder import encoder as encoder_module
from packager.ladder.annexb import avc_decoder_configuration, to_length_prefixed
from packager.ladder.cadence import measure_cadence
from packager.ladder.rungs import Rung, plan_rungs, target_bitrate
from packager.ladder.transcoder import Transcoder, TranscoderOptions
from packager.media import VideoConfig
from packager.timeline import VIDEO_TIMESCALE, Timeline
from tests.support.media import Encoded, encode_flv

FPS = 30
GOP = 30
FRAME = VIDEO_TIMESCALE // FPS


# planning ----------------------------------------------------------------------------------


def test_1080p_source_gets_the_default_ladder():
    rungs = plan_rungs(1920, 1080, 30)
    assert [(r.width, r.height) for r in rungs] == [(1280, 720), (854, 480), (640, 360)]
    assert [r.name for r in rungs] == ["720p", "480p", "360p"]
    assert rungs[0].bitrate == pytest.approx(0.1 * 1280 * 720 * 30, rel=1e-6)
    for rung in rungs:
        assert rung.bitrate < rung.maxrate <= rung.bufsize


def test_never_at_or_above_the_source():
    assert [r.height for r in plan_rungs(854, 480, 30)] == [360]
    assert [r.height for r in plan_rungs(1280, 720, 30)] == [480, 360]
    assert plan_rungs(640, 360, 30) == []


def test_odd_sizes_give_even_dimensions_with_the_source_aspect():
    rungs = plan_rungs(853, 481, 30, (481, 361, 240, 240))
    assert [(r.width, r.height) for r in rungs] == [(852, 480), (638, 360), (426, 240)]
    portrait = plan_rungs(1080, 1920, 30, (720,))
    assert [(r.width, r.height) for r in portrait] == [(406, 720)]


def test_bitrate_scales_with_frame_rate_within_caps():
    at_30, at_60 = target_bitrate(854, 480, 30), target_bitrate(854, 480, 60)
    assert at_60 == pytest.approx(1.5 * at_30, rel=1e-6)
    assert target_bitrate(854, 480, 15) == pytest.approx(at_30 / 2, abs=1)
    assert target_bitrate(854, 480, 10) == 600_000  # a third of 30 fps: floored at the minimum
    assert target_bitrate(1280, 720, 120) == 4_500_000  # capped at 720p's maximum


def test_cadence_of_the_first_gop():
    packets = [TimedPacket("video", i * 3003, i * 3003, i == 0, b"") for i in range(48)]
    cadence = measure_cadence(packets)
    assert cadence.gop == 48
    assert cadence.frame_rate == pytest.approx(29.97)


def test_annexb_conversion():
    sps, pps, idr = b"\x67\x64\x00\x1f\xaa", b"\x68\xee", b"\x65\x88\x00\x00\x03\x01"
    stream = b"\x00\x00\x00\x01" + sps + b"\x00\x00\x01" + pps + b"\x00\x00\x01" + idr
    assert to_length_prefixed(b"\x00\x00\x00\x01" + idr) == b"\x00\x00\x00\x06" + idr
    record = avc_decoder_configuration(stream)
    assert VideoConfig(record).codec_string == "avc1.64001f"
    assert record == b"\x01\x64\x00\x1f\xff\xe1\x00\x05" + sps + b"\x01\x00\x02" + pps


# transcoding -------------------------------------------------------------------------------


@dataclass
class Collector:
    """A LadderSink that keeps everything (called from rung threads: a lock guards it)."""

    configs: dict[str, VideoConfig] = field(default_factory=dict)
    packets: dict[str, list[TimedPacket]] = field(default_factory=dict)
    ended: dict[str, bool] = field(default_factory=dict)
    planned_rungs: list[Rung] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def planned(self, rungs: Sequence[Rung]) -> None:
        with self.lock:
            self.planned_rungs = list(rungs)

    def rung_started(self, rung: Rung, config: VideoConfig) -> None:
        with self.lock:
            self.configs[rung.name] = config
            self.packets[rung.name] = []

    def rung_packets(self, rung: Rung, packets: list[TimedPacket]) -> None:
        with self.lock:
            self.packets[rung.name] += packets

    def rung_ended(self, rung: Rung, *, shed: bool) -> None:
        with self.lock:
            self.ended[rung.name] = shed


def timeline_packets(encoded: Encoded) -> list[TimedPacket]:
    """The source on the output timeline, as PublishSession hands it to its mux worker."""
    timeline = Timeline(0, encoded.audio.sample_rate)
    out: list[TimedPacket] = []
    for p in encoded.packets:
        if p.kind == "video":
            dts, pts = timeline.video(p)
            out.append(TimedPacket("video", dts, pts, p.keyframe, p.data))
        elif (dts := timeline.audio(p)) is not None:
            out.append(TimedPacket("audio", dts, dts, True, p.data))
    return out


def mux(
    encoded: Encoded, video: VideoConfig, packets: list[TimedPacket]
) -> tuple[bytes, list[Part]]:
    rate = encoded.audio.sample_rate
    seconds = {"video": VIDEO_TIMESCALE, "audio": rate}
    muxer = CmafMuxer(video, encoded.audio, part_target=0.2)
    parts: list[Part] = []
    for packet in sorted(packets, key=lambda p: p.dts / seconds[p.kind]):
        parts += muxer.write(packet)
    parts += muxer.close()
    assert muxer.init_segment
    return muxer.init_segment, parts


def transcode(
    packets: list[TimedPacket], video: VideoConfig, **options: object
) -> tuple[Transcoder, Collector]:
    sink = Collector()
    transcoder = Transcoder("test", video, sink, TranscoderOptions(**options))  # type: ignore[arg-type]
    transcoder.start()
    for packet in packets:
        if packet.kind == "video":
            transcoder.put(packet)
    transcoder.stop()
    return transcoder, sink


@pytest.fixture(scope="module")
def source() -> Encoded:
    return encode_flv(3.0, fps=FPS, gop=GOP, bframes=2, size=(640, 360))


def test_rungs_decode_and_align_with_the_source(source, tmp_path):
    packets = timeline_packets(source)
    transcoder, sink = transcode(packets, source.video, heights=(240, 180))
    assert [(r.width, r.height) for r in transcoder.rungs] == [(426, 240), (320, 180)]
    assert sink.ended == {"240p": False, "180p": False} and not transcoder.shed
    assert sink.planned_rungs == transcoder.rungs

    video = [p for p in packets if p.kind == "video"]
    source_keyframes = [p.pts for p in video if p.keyframe]
    assert len(source_keyframes) == 3
    audio = [p for p in packets if p.kind == "audio"]
    _, source_parts = mux(source, source.video, packets)
    source_starts = [p.start for p in source_parts]
    source_independent = [p.start for p in source_parts if p.independent]

    for rung in transcoder.rungs:
        encoded = sink.packets[rung.name]
        assert len(encoded) == len(video)
        assert [p.pts for p in encoded if p.keyframe] == source_keyframes
        assert all(p.dts <= p.pts for p in encoded)

        init, parts = mux(source, sink.configs[rung.name], encoded + audio)
        assert [p.start for p in parts if p.independent] == source_independent
        assert len(parts) == len(source_parts)
        for start, source_start in zip((p.start for p in parts), source_starts):
            assert start == pytest.approx(source_start, abs=1 / FPS)

        path = tmp_path / f"{rung.name}.mp4"
        path.write_bytes(init + b"".join(p.data for p in parts))
        with av.open(str(path)) as container:
            frames = list(container.decode(video=0))
        assert len(frames) == len(video)
        assert {(f.width, f.height) for f in frames} == {(rung.width, rung.height)}
        key_times = [round(f.time * VIDEO_TIMESCALE) for f in frames if f.key_frame]
        assert key_times == source_keyframes


def test_a_rung_that_falls_behind_is_shed_and_the_others_continue(source, monkeypatch):
    """The most expensive rung runs at a quarter of real time: it is shed, the other is not."""
    original = encoder_module.RungEncoder.encode

    def slow(self, frame, pts, dts, keyframe):
        if self.rung.height == 240:
            time.sleep(4 / FPS)
        return original(self, frame, pts, dts, keyframe)

    monkeypatch.setattr(encoder_module.RungEncoder, "encode", slow)
    packets = timeline_packets(source)
    transcoder, sink = transcode(packets, source.video, heights=(240, 180), max_lag=0.3)

    assert [r.name for r in transcoder.shed] == ["240p"]
    assert sink.ended == {"240p": True, "180p": False}
    video = [p for p in packets if p.kind == "video"]
    assert len(sink.packets["180p"]) == len(video)
    assert len(sink.packets["240p"]) < len(video) / 2


def test_a_rung_that_never_clears_its_start_up_backlog_is_shed(monkeypatch):
    """Rungs start a GOP behind real time. One that then only just keeps pace stays that far
    behind for good: once its catch-up time is over, that lag counts and it is shed."""
    original = encoder_module.RungEncoder.encode

    def real_time(self, frame, pts, dts, keyframe):
        started = time.monotonic()
        packets = original(self, frame, pts, dts, keyframe)
        if self.rung.height == 240:
            time.sleep(max(0.0, 1 / FPS - (time.monotonic() - started)))
        return packets

    monkeypatch.setattr(encoder_module.RungEncoder, "encode", real_time)
    source = encode_flv(4.0, fps=FPS, gop=15, bframes=0, size=(640, 360))  # 0.5 s GOPs
    sink = Collector()
    transcoder = Transcoder("test", source.video, sink, TranscoderOptions((240, 180), max_lag=0.3))
    transcoder.start()
    started = time.monotonic()
    for packet in timeline_packets(source):
        if packet.kind == "video":
            time.sleep(max(0.0, started + packet.dts / VIDEO_TIMESCALE - time.monotonic()))
            transcoder.put(packet)
    transcoder.stop()
    assert [r.name for r in transcoder.shed] == ["240p"]
    assert sink.ended == {"240p": True, "180p": False}
