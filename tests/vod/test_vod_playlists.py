"""The VOD playlists of a recording: renditions aligned by MSN, discontinuities and maps in step,
bandwidths measured on what is kept. Parsed back with the ``m3u8`` library (an independent
reader)."""

from __future__ import annotations

import m3u8
import pytest

from packager.live.llhls_playlist import render_multivariant_playlist
from packager.live.window import VariantInfo
from vod.recording.playlists import RecordedSegment, align, duration, measured, render_vod_playlist


def run(first: int, count: int, *, init: int = 1, duration: float = 2.0, size: int = 1000,
        discontinuity_at: int | None = None) -> dict[int, RecordedSegment]:
    return {
        msn: RecordedSegment(msn, duration, init, msn == discontinuity_at, size)
        for msn in range(first, first + count)
    }


def test_renditions_keep_only_the_msns_all_of_them_have():
    source = run(100, 10)
    rung = run(101, 8)  # starts a GOP late, ends early
    aligned = align({"source": source, "360p": rung})
    assert [s.msn for s in aligned["source"]] == list(range(101, 109))
    assert [s.msn for s in aligned["360p"]] == list(range(101, 109))
    assert not any(s.discontinuity for segments in aligned.values() for s in segments)


def test_a_missing_segment_is_cut_from_every_rendition_with_a_discontinuity():
    source = run(0, 6)
    rung = run(0, 6)
    del rung[3]  # its write was dropped: storage fell behind
    aligned = align({"source": source, "360p": rung})
    for segments in aligned.values():
        assert [s.msn for s in segments] == [0, 1, 2, 4, 5]
        assert [s.discontinuity for s in segments] == [False, False, False, True, False]


def test_reconnects_break_every_rendition_at_the_same_place():
    source = {**run(0, 3), **run(3, 3, init=2, discontinuity_at=3)}
    rung = {**run(0, 3, init=7), **run(3, 3, init=8)}  # flag lost on this one: OR'ed across
    aligned = align({"source": source, "360p": rung})
    for segments in aligned.values():
        assert [s.discontinuity for s in segments] == [False, False, False, True, False, False]
    # The first kept segment never carries a discontinuity: nothing precedes it.
    later = align({"source": {**run(0, 2), **run(2, 3, init=2, discontinuity_at=2)}, "360p": run(2, 3)})
    assert [s.discontinuity for s in later["source"]] == [False, False, False]


def test_no_common_segment_means_nothing_to_keep():
    assert align({}) == {}
    assert align({"source": run(0, 3), "360p": run(5, 3)}) == {"source": [], "360p": []}
    assert align({"source": {}}) == {"source": []}


def test_vod_media_playlist():
    recorded = {**run(10, 2, duration=2.002), **run(12, 2, init=2, duration=2.6, discontinuity_at=12)}
    segments = align({"s": recorded})["s"]
    text = render_vod_playlist(segments)
    playlist = m3u8.loads(text)
    assert playlist.is_endlist and playlist.playlist_type == "vod" and playlist.is_independent_segments
    assert playlist.version == 6
    assert playlist.target_duration == 3  # 2.6 rounds to 3: never below a rounded EXTINF
    assert [s.uri for s in playlist.segments] == ["seg10.m4s", "seg11.m4s", "seg12.m4s", "seg13.m4s"]
    assert [s.init_section.uri for s in playlist.segments] == ["init1.mp4"] * 2 + ["init2.mp4"] * 2
    assert [s.discontinuity for s in playlist.segments] == [False, False, True, False]
    assert text.count("#EXT-X-MAP") == 2  # written where the init segment changes, only there
    assert sum(s.duration for s in playlist.segments) == pytest.approx(duration(segments)) == 9.204
    assert "#EXT-X-PART" not in text and "PROGRAM-DATE-TIME" not in text


def test_bandwidth_is_measured_on_the_kept_segments():
    variant = VariantInfo(name="source", codecs="avc1.64001f,mp4a.40.2", bandwidth=1, average_bandwidth=1,
                          width=1280, height=720, frame_rate=30.0)
    segments = [RecordedSegment(0, 2.0, 1, False, 250_000), RecordedSegment(1, 1.0, 1, False, 250_000)]
    remeasured = measured(variant, segments)
    assert remeasured.bandwidth == 2_000_000  # the peak segment: 250 kB in 1 s
    assert remeasured.average_bandwidth == round(500_000 * 8 / 3)
    master = m3u8.loads(render_multivariant_playlist([remeasured]))
    [listed] = master.playlists
    assert listed.stream_info.bandwidth == 2_000_000 and listed.stream_info.resolution == (1280, 720)
    assert measured(variant, []) == variant
