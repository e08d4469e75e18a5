"""The live ABR ladder end to end: ffmpeg pushes RTMP, the node passes the source through and
encodes rungs, and every rendition lines up with the passthrough segment for segment."""

from __future__ import annotations

import asyncio

import av
import m3u8
import pytest

from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import all_parts, check_media_playlist, fetch, wait_playlist

LADDER = {"heights": [360, 240]}
SOURCE = Source(seconds=9, width=854, height=480, fps=30, gop=30, bframes=2)
FRAME = 1 / 30


async def ended_playlist(http, url: str, timeout: float = 40) -> m3u8.M3U8:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await fetch(http, url)
        if got.status == 200:
            playlist = m3u8.loads(got.body.decode())
            if playlist.is_endlist:
                return playlist
        assert asyncio.get_running_loop().time() < deadline, f"{url} never ended"
        await asyncio.sleep(0.5)


def decode(tmp_path, name: str, blob: bytes) -> tuple[list[tuple[float, bool, tuple[int, int]]], int]:
    """(time, keyframe, size) of every video frame, and the number of audio frames."""
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(blob)
    with av.open(str(path)) as container:
        video = [(float(f.time), f.key_frame, (f.width, f.height)) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = sum(1 for _ in container.decode(audio=0))
    return video, audio


async def test_rungs_align_with_the_passthrough_and_decode(start_node, http, tmp_path):
    node = await start_node(ladder=LADDER, reconnect_grace=1.0)
    name, key = await node.new_stream()
    pusher = await start_publish(f"{node.rtmp}/{key}", SOURCE)
    try:
        master_url = f"{node.http}/live/{name}/master.m3u8"
        await wait_playlist(http, node.playlist_url(name))
        master = m3u8.loads((await fetch(http, master_url)).body.decode())
        listed = {p.uri.split("/")[0]: p.stream_info for p in master.playlists}
        assert list(listed) == ["source", "360p", "240p"]
        assert listed["source"].resolution == (854, 480)
        assert listed["360p"].resolution == (640, 360) and listed["240p"].resolution == (428, 240)
        for info in listed.values():
            assert info.bandwidth > 0 and info.average_bandwidth > 0
            assert info.frame_rate == pytest.approx(30)
            video, audio = info.codecs.split(",")
            assert video.startswith("avc1.") and audio == "mp4a.40.2"

        # Live: every media playlist reports its siblings' live edges.
        for rendition in listed:
            got = await fetch(http, f"{node.http}/live/{name}/{rendition}/index.m3u8")
            text = got.body.decode()
            reports = [line for line in text.splitlines() if line.startswith("#EXT-X-RENDITION-REPORT")]
            assert sorted(r.split('"')[1] for r in reports) == sorted(
                f"../{other}/index.m3u8" for other in listed if other != rendition
            )
            check_media_playlist(m3u8.loads(text))
        assert await pusher.wait() == 0
    finally:
        if pusher.returncode is None:
            pusher.kill()
            await pusher.wait()

    playlists = {
        rendition: await ended_playlist(http, f"{node.http}/live/{name}/{rendition}/index.m3u8")
        for rendition in ("source", "360p", "240p")
    }
    source = playlists["source"]
    for rendition, playlist in playlists.items():
        # Same MSN, same media: durations, program date times and part boundaries agree.
        by_msn = {playlist.media_sequence + i: s for i, s in enumerate(playlist.segments)}
        source_by_msn = {source.media_sequence + i: s for i, s in enumerate(source.segments)}
        common = sorted(set(by_msn) & set(source_by_msn))
        assert len(common) >= 3, rendition
        assert common[-1] == max(source_by_msn)  # rungs keep up to the end
        for msn in common:
            mine, theirs = by_msn[msn], source_by_msn[msn]
            assert mine.duration == pytest.approx(theirs.duration, abs=FRAME / 2), (rendition, msn)
            assert mine.program_date_time == theirs.program_date_time
            if mine.parts and theirs.parts:
                assert [p.duration for p in mine.parts] == pytest.approx(
                    [p.duration for p in theirs.parts], abs=FRAME / 2
                )
                assert [p.independent for p in mine.parts] == [p.independent for p in theirs.parts]
        assert all(p.duration <= playlist.part_inf.part_target for p in all_parts(playlist))

    # Every rendition decodes at its size, with keyframes at the same instants as the source's.
    keyframes: dict[str, list[float]] = {}
    base = f"{node.http}/live/{name}"
    first_common = max(p.media_sequence for p in playlists.values())
    for rendition, playlist in playlists.items():
        skip = first_common - playlist.media_sequence
        blob = (await fetch(http, f"{base}/{rendition}/{playlist.segments[skip].init_section.uri}")).body
        for segment in playlist.segments[skip:]:
            got = await fetch(http, f"{base}/{rendition}/{segment.uri}")
            assert got.status == 200
            blob += got.body
        video, audio_frames = decode(tmp_path, rendition, blob)
        sizes = {size for _, _, size in video}
        expected = {"source": (854, 480), "360p": (640, 360), "240p": (428, 240)}[rendition]
        assert sizes == {expected}
        assert audio_frames > 100
        keyframes[rendition] = [t for t, key, _ in video if key]
    assert len(keyframes["source"]) >= 4
    for rendition in ("360p", "240p"):
        assert keyframes[rendition] == pytest.approx(keyframes["source"], abs=FRAME / 2)


async def test_hls_js_switches_renditions_without_a_stall(start_node, http, tmp_path):
    """A viewer picks each rendition from the watch page's quality menu; playback never stalls."""
    from tests.support.browser import chromium

    node = await start_node(ladder=LADDER)
    name, key = await node.new_stream()
    pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=60, width=854, height=480))
    try:
        await wait_playlist(http, node.playlist_url(name))
        async with chromium() as browser:
            page = await browser.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            await page.add_init_script(
                "window.__stalls = [];"
                "document.addEventListener('waiting', () => window.__stalls.push(performance.now()), true);"
            )
            await page.goto(f"{node.http}/watch/{name}")
            await page.wait_for_function(
                "() => document.querySelector('video').currentTime > 1", timeout=20_000
            )
            labels = await page.eval_on_selector_all("#quality option", "os => os.map(o => o.text)")
            assert labels == ["Auto", "240p", "360p", "480p"]
            stalls_before = len(await page.evaluate("window.__stalls"))
            for label in ("240p", "480p", "360p"):
                index = labels.index(label) - 1  # minus "Auto": option values are level indexes
                await page.select_option("#quality", str(index))
                await page.wait_for_function(
                    f"() => window.tributary.levelSwitches.some(s => s.level === {index})",
                    timeout=15_000,
                )
                height = await page.evaluate(
                    "() => new Promise(r => { const v = document.querySelector('video');"
                    " const t = v.currentTime; setTimeout(() => r([v.currentTime - t, v.videoHeight]), 2500); })"
                )
                advanced, video_height = height
                assert advanced > 1.5, (label, advanced)
                assert video_height == int(label[:-1]), (label, video_height)
            stalls = len(await page.evaluate("window.__stalls")) - stalls_before
            assert stalls == 0
            assert await page.evaluate("window.tributary.fatalErrors") == []
            assert page_errors == []
    finally:
        pusher.kill()
        await pusher.wait()


async def test_a_rung_that_cannot_keep_up_is_shed_and_the_stream_goes_on(start_node, http):
    """With no lag allowed at all, the most expensive rung is shed first: it leaves the
    multivariant playlist, its media playlist answers 404, /metrics counts it, and the
    passthrough carries on."""
    node = await start_node(ladder={**LADDER, "max_lag": 0.0001})
    name, key = await node.new_stream()
    pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=30, width=854, height=480))
    try:
        await wait_playlist(http, node.playlist_url(name))
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            metrics = (await fetch(http, f"{node.http}/metrics")).body.decode()
            if 'tributary_ladder_renditions_dropped_total{reason="shed",rendition="360p"}' in metrics:
                break
            assert asyncio.get_running_loop().time() < deadline, "no rung was shed"
            await asyncio.sleep(0.3)
        master = m3u8.loads((await fetch(http, f"{node.http}/live/{name}/master.m3u8")).body.decode())
        assert "360p/index.m3u8" not in [p.uri for p in master.playlists]
        assert master.playlists[0].uri == "source/index.m3u8"
        assert (await fetch(http, f"{node.http}/live/{name}/360p/index.m3u8")).status == 404
        before = m3u8.loads((await fetch(http, node.playlist_url(name))).body.decode())
        await asyncio.sleep(2)
        after = m3u8.loads((await fetch(http, node.playlist_url(name))).body.decode())
        assert len(all_parts(after)) and all_parts(after)[-1].uri != all_parts(before)[-1].uri
    finally:
        pusher.kill()
        await pusher.wait()


async def test_rungs_follow_a_reconnect_with_the_same_discontinuity(start_node, http):
    """The publisher drops and returns within the grace period: every rendition marks the same
    segment with EXT-X-DISCONTINUITY, and MSNs stay aligned on both sides of it."""
    from tests.support.ffmpeg import publish

    node = await start_node(ladder=LADDER, reconnect_grace=2.0)
    name, key = await node.new_stream()
    short = Source(seconds=4, width=854, height=480, gop=30)
    for _ in range(2):
        code, err = await publish(f"{node.rtmp}/{key}", short)
        assert code == 0, err
    playlists = {
        rendition: await ended_playlist(http, f"{node.http}/live/{name}/{rendition}/index.m3u8")
        for rendition in ("source", "360p", "240p")
    }

    def marks(playlist: m3u8.M3U8) -> dict[int, bool]:
        return {playlist.media_sequence + i: s.discontinuity for i, s in enumerate(playlist.segments)}

    source = marks(playlists["source"])
    assert sum(source.values()) == 1
    cut = next(msn for msn, flag in source.items() if flag)
    for rendition in ("360p", "240p"):
        mine = marks(playlists[rendition])
        assert mine[cut] is True and sum(mine.values()) == 1, rendition
        assert min(mine) < cut < max(mine) == max(source), rendition
        assert playlists[rendition].discontinuity_sequence == playlists["source"].discontinuity_sequence
