"""LL-HLS playlist text: header rules, parts, program-date-time, delta updates, multivariant."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import m3u8
import pytest

from packager.live.llhls_playlist import (
    RenditionReport,
    render_media_playlist,
    render_multivariant_playlist,
)
from packager.live.window import LiveWindow, VariantInfo


@dataclass(frozen=True)
class Segment:
    """A segment as a client understands it after parsing: the tags in force for its URI."""

    uri: str | None  # None for the open segment (parts only)
    duration: float | None
    init: str
    discontinuity: bool
    program_date_time: str
    parts: tuple[str, ...]


def attributes(line: str) -> dict[str, str]:
    return dict(re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))


def header(text: str, tag: str) -> str | None:
    found = [line for line in text.splitlines() if line.startswith(f"#{tag}:")]
    assert len(found) <= 1, tag
    return found[0].split(":", 1)[1] if found else None


def parse_segments(text: str) -> tuple[int, list[Segment]]:
    """``(skipped, segments)``; the init in force carries over as a client would carry it."""
    skipped, segments = 0, []
    init, discontinuity, pdt, parts, duration = "", False, "", [], None
    for line in text.splitlines():
        if line.startswith("#EXT-X-SKIP:"):
            skipped = int(attributes(line)["SKIPPED-SEGMENTS"])
        elif line.startswith("#EXT-X-MAP:"):
            init = attributes(line)["URI"].strip('"')
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = line.split(":", 1)[1]
        elif line.startswith("#EXT-X-PART:"):
            parts.append(attributes(line)["URI"].strip('"'))
        elif line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].rstrip(","))
        elif line and not line.startswith("#"):
            segments.append(Segment(line, duration, init, discontinuity, pdt, tuple(parts)))
            discontinuity, parts, duration = False, [], None
    if parts:
        segments.append(Segment(None, None, init, discontinuity, pdt, tuple(parts)))
    return skipped, segments


@pytest.fixture
def live(make_window, encoder) -> LiveWindow:
    """Twelve segments of 2 s (window of 20), half an open one, parts on the last three."""
    window = make_window(window_segments=20)
    encoder(window).run(25.0)
    return window


def test_header_follows_the_draft(live):
    text = render_media_playlist(live.snapshot())
    lines = text.splitlines()
    assert lines[:2] == ["#EXTM3U", "#EXT-X-VERSION:6"]
    assert header(text, "EXT-X-TARGETDURATION") == "2"
    control = attributes("#EXT-X-SERVER-CONTROL:" + header(text, "EXT-X-SERVER-CONTROL"))
    part_target = Decimal(attributes("#X:" + header(text, "EXT-X-PART-INF"))["PART-TARGET"])
    assert part_target == Decimal("0.2")
    assert control["CAN-BLOCK-RELOAD"] == "YES"
    assert Decimal(control["PART-HOLD-BACK"]) >= 3 * part_target
    assert Decimal(control["CAN-SKIP-UNTIL"]) == 6 * 2
    assert header(text, "EXT-X-MEDIA-SEQUENCE") == "0"
    assert header(text, "EXT-X-DISCONTINUITY-SEQUENCE") is None
    assert text.endswith('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part125.m4s"\n')
    assert "#EXT-X-ENDLIST" not in text


@pytest.mark.parametrize(("part_target", "rendered", "hold_back"), [(1 / 3, "0.33334", "1.00002")])
def test_lower_bounds_are_rounded_up(make_window, part_target, rendered, hold_back):
    window = make_window(part_target=part_target)
    text = render_media_playlist(window.snapshot())
    assert header(text, "EXT-X-PART-INF") == f"PART-TARGET={rendered}"
    assert f"PART-HOLD-BACK={hold_back}," in text


def test_segments_parts_and_program_date_time(live, epoch):
    text = render_media_playlist(live.snapshot())
    _, segments = parse_segments(text)
    assert [s.uri for s in segments] == [f"seg{n}.m4s" for n in range(12)] + [None]
    assert all(s.init == "init0.mp4" for s in segments)
    assert "#EXTINF:2.00000," in text
    assert [len(s.parts) for s in segments] == [0] * 9 + [10, 10, 10, 5]
    assert segments[9].parts[0] == "part90.m4s"
    for n, segment in enumerate(segments):
        expected = datetime.fromtimestamp(epoch + 2 * n, tz=UTC)
        assert segment.program_date_time == expected.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    part_lines = [line for line in text.splitlines() if line.startswith("#EXT-X-PART:")]
    independent = [line for line in part_lines if line.endswith(",INDEPENDENT=YES")]
    assert len(part_lines) == 35 and len(independent) == 4  # first part of each segment
    assert part_lines[0] == '#EXT-X-PART:DURATION=0.20000,URI="part90.m4s",INDEPENDENT=YES'


def test_tags_of_a_parent_segment_precede_its_first_part(make_window, encoder):
    window = make_window()
    feed = encoder(window)
    feed.run(2.0)
    window.discontinuity()
    window.set_init(b"init-1", 0.2)
    feed.run(0.4)
    lines = render_media_playlist(window.snapshot()).splitlines()
    start = lines.index("seg0.m4s") + 1
    assert lines[start : start + 4] == [
        "#EXT-X-DISCONTINUITY",
        '#EXT-X-MAP:URI="init1.mp4"',
        lines[start + 2],
        '#EXT-X-PART:DURATION=0.20000,URI="part10.m4s",INDEPENDENT=YES',
    ]
    assert lines[start + 2].startswith("#EXT-X-PROGRAM-DATE-TIME:")


def test_discontinuity_sequence_once_a_discontinuity_slid_out(make_window, encoder):
    window = make_window(window_segments=3)
    feed = encoder(window)
    feed.run(4.0)
    window.discontinuity()
    window.set_init(b"init-1", 0.2)
    feed.run(20.2)
    text = render_media_playlist(window.snapshot())
    assert header(text, "EXT-X-DISCONTINUITY-SEQUENCE") == "1"
    assert "#EXT-X-DISCONTINUITY\n" not in text
    assert text.count("#EXT-X-MAP:") == 1


def test_ended_playlist_has_endlist_and_no_hint(live):
    live.end()
    text = render_media_playlist(live.snapshot(), skip=True)
    assert text.endswith("seg12.m4s\n#EXT-X-ENDLIST\n")
    assert "PRELOAD-HINT" not in text
    assert "EXT-X-SKIP" not in text  # delta updates are for live playlists only


def test_delta_update_reconstructs_the_full_playlist(make_window, encoder):
    window = make_window(window_segments=20)
    feed = encoder(window)
    feed.run(6.0)
    window.discontinuity()
    window.set_init(b"init-1", 0.2)
    feed.run(19.0)  # segments 3.. on init1 (3 has the discontinuity), 1 s of open segment 12
    full = render_media_playlist(window.snapshot())
    delta = render_media_playlist(window.snapshot(), skip=True)

    _, full_segments = parse_segments(full)
    skipped, delta_segments = parse_segments(delta)
    # 25 s of playlist and CAN-SKIP-UNTIL=12: the segments ending by 13 s (0..5) are skipped.
    assert skipped == 6
    assert full_segments[skipped:] == delta_segments
    assert header(delta, "EXT-X-VERSION") == "9"
    for tag in ("EXT-X-MEDIA-SEQUENCE", "EXT-X-DISCONTINUITY-SEQUENCE", "EXT-X-TARGETDURATION"):
        assert header(delta, tag) == header(full, tag)
    assert delta.index("#EXT-X-SKIP:") < delta.index("#EXT-X-MAP:")  # map stays explicit


def test_delta_update_v2_lists_no_removed_dateranges(live):
    delta = render_media_playlist(live.snapshot(), skip=True, skip_dateranges=True)
    assert header(delta, "EXT-X-VERSION") == "10"
    assert header(delta, "EXT-X-SKIP") == 'SKIPPED-SEGMENTS=6,RECENTLY-REMOVED-DATERANGES=""'


def test_nothing_to_skip_gives_the_full_playlist(make_window, encoder):
    window = make_window()
    encoder(window).run(8.0)
    snapshot = window.snapshot()
    assert render_media_playlist(snapshot, skip=True) == render_media_playlist(snapshot)


def test_rendition_reports(live):
    reports = [RenditionReport("../360p/index.m3u8", 12, 4)]
    text = render_media_playlist(live.snapshot(), rendition_reports=reports)
    assert text.endswith(
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part125.m4s"\n'
        '#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=12,LAST-PART=4\n'
    )


def test_an_independent_parser_reads_the_same_playlist(make_window, encoder):
    """The maintained ``m3u8`` parser must understand full and delta playlists alike."""
    window = make_window(window_segments=20)
    feed = encoder(window)
    feed.run(6.0)
    window.discontinuity()
    window.set_init(b"init-1", 0.2)
    feed.run(19.0)
    reports = [RenditionReport("../360p/index.m3u8", 12, 4)]
    full = m3u8.loads(render_media_playlist(window.snapshot(), rendition_reports=reports))
    delta = m3u8.loads(render_media_playlist(window.snapshot(), skip=True))
    assert (full.media_sequence, full.target_duration, full.version) == (0, 2, 6)
    assert full.part_inf.part_target == 0.2 and full.server_control.can_block_reload == "YES"
    complete = [s for s in full.segments if s.uri]  # m3u8 gives the open segment no map
    assert complete[-1].uri == "seg11.m4s"
    assert [s.init_section.uri for s in complete] == ["init0.mp4"] * 3 + ["init1.mp4"] * 9
    assert [s.discontinuity for s in full.segments].count(True) == 1
    assert [p.uri for p in full.segments[-1].parts][0] == "part120.m4s"
    assert full.preload_hint.uri == "part125.m4s"
    assert full.rendition_reports[0].last_msn == 12
    assert delta.skip.skipped_segments == 6
    assert [s.uri for s in delta.segments] == [s.uri for s in full.segments[6:]]
    assert delta.segments[0].init_section.uri == "init1.mp4"


def test_multivariant_playlist():
    variants = [
        VariantInfo(
            name="720p",
            codecs="avc1.64001f,mp4a.40.2",
            width=1280,
            height=720,
            frame_rate=30000 / 1001,
            bandwidth=3_200_000,
            average_bandwidth=2_800_000,
        ),
        VariantInfo(name="audio", codecs="mp4a.40.2", width=0, height=0, bandwidth=130_000),
    ]
    assert render_multivariant_playlist(variants) == (
        "#EXTM3U\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=3200000,AVERAGE-BANDWIDTH=2800000,"
        'CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970\n'
        "720p/index.m3u8\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=130000,CODECS="mp4a.40.2"\n'
        "audio/index.m3u8\n"
    )
