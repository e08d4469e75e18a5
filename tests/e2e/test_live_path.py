"""OBS's path end to end: real ffmpeg pushes RTMP into a real node; LL-HLS comes out over HTTP."""

from __future__ import annotations

import asyncio
import time

import av
import m3u8
import pytest

from tests.support.ffmpeg import Source, publish, start_publish
from tests.support.llhls import (
    PLAYLIST_TYPE,
    all_parts,
    check_media_playlist,
    fetch,
    wait_playlist,
)


async def collect_media(http, base: str, playlist: m3u8.M3U8) -> bytes:
    """init + every complete segment in the playlist, as one fMP4 byte string."""
    init = playlist.segments[0].init_section.uri
    blob = (await fetch(http, f"{base}/{init}")).body
    for segment in playlist.segments:
        if segment.uri:
            got = await fetch(http, f"{base}/{segment.uri}")
            assert got.status == 200 and got.headers["Content-Type"].startswith("video/")
            blob += got.body
    return blob


def decode_all(tmp_path, blob: bytes) -> tuple[list[float], list[float]]:
    path = tmp_path / "media.mp4"
    path.write_bytes(blob)
    with av.open(str(path)) as container:
        video = [f.time for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio = [f.time for f in container.decode(audio=0)]
    return video, audio


@pytest.mark.parametrize(
    "source",
    [
        Source(seconds=7, fps=30, gop=60, bframes=0, sample_rate=48_000),
        Source(seconds=7, fps=30, gop=60, bframes=2, sample_rate=48_000),
        Source(seconds=7, fps=25, gop=37, bframes=0, sample_rate=44_100),
        # Not AAC: the node transcodes to AAC once (ffmpeg's FLV default is MP3; cameras G.711).
        Source(seconds=7, sample_rate=44_100, audio_codec="libmp3lame"),
        Source(seconds=7, sample_rate=8_000, audio_codec="pcm_mulaw"),
    ],
    ids=["zerolatency-48k", "bframes", "gop37-44k1", "mp3", "g711-mulaw"],
)
async def test_rtmp_to_llhls(start_node, http, tmp_path, source):
    node = await start_node()
    name, key = await node.new_stream()
    pusher = asyncio.create_task(publish(f"{node.rtmp}/{key}", source))

    master_url = f"{node.http}/live/{name}/master.m3u8"
    master = await wait_playlist(http, master_url)
    assert len(master.playlists) == 1
    info = master.playlists[0].stream_info
    assert info.bandwidth > 0 and info.average_bandwidth > 0
    assert info.resolution == (source.width, source.height)
    assert "avc1." in info.codecs and "mp4a.40.2" in info.codecs
    assert info.frame_rate == pytest.approx(source.fps, rel=0.01)

    base = f"{node.http}/live/{name}/source"
    # Wait until a few segments exist, checking every live playlist on the way.
    deadline = time.monotonic() + 20
    while True:
        got = await fetch(http, f"{base}/index.m3u8")
        assert got.status == 200 and got.headers["Content-Type"] == PLAYLIST_TYPE
        assert "no-cache" in got.headers["Cache-Control"]
        assert got.headers["Access-Control-Allow-Origin"] == "*"
        playlist = m3u8.loads(got.text)
        check_media_playlist(playlist)
        if sum(1 for s in playlist.segments if s.uri) >= 2:
            break
        assert time.monotonic() < deadline, "no segments after 20 s"
        await asyncio.sleep(0.2)

    code, err = await pusher
    assert code == 0, err
    # Every part decodes on its own after init (CMAF chunks are self-contained fragments).
    init_uri = playlist.segments[0].init_section.uri
    init = (await fetch(http, f"{base}/{init_uri}")).body
    for part in all_parts(playlist)[-4:]:
        got = await fetch(http, f"{base}/{part.uri}")
        assert got.status == 200
        assert "immutable" in got.headers["Cache-Control"]
        assert got.body[4:8] == b"moof"

    # The whole stream decodes with monotonic timestamps and both tracks present.
    ended = await wait_playlist(http, f"{base}/index.m3u8")
    video, audio = decode_all(tmp_path, await collect_media(http, base, ended))
    assert len(video) > 3 * source.fps and len(audio) > 3 * source.sample_rate / 1024
    assert video == sorted(video) and audio == sorted(audio)
    frame = 1 / source.fps
    assert all(abs((b - a) - frame) < 0.002 for a, b in zip(video, video[1:]))
    assert abs(video[0] - audio[0]) < 0.2
    assert init


async def test_first_playlist_before_a_whole_segment(start_node, http):
    """The first usable playlist appears as soon as the first parts exist, not a segment later."""
    node = await start_node(segment_target=4.0)
    name, key = await node.new_stream()
    pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=8, gop=120))
    try:
        playlist = await wait_playlist(http, node.playlist_url(name))
        assert all_parts(playlist), "parts are listed"
        assert not [s for s in playlist.segments if s.uri], "no complete segment was needed"
    finally:
        pusher.kill()
        await pusher.wait()


async def test_blocking_reload_answers_when_the_part_appears(start_node, http):
    node = await start_node()
    name, key = await node.new_stream()
    pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=10))
    try:
        url = node.playlist_url(name)
        playlist = await wait_playlist(http, url)
        lags = []
        for _ in range(8):
            last = playlist.segments[-1]
            msn = playlist.media_sequence + len(playlist.segments) - 1
            next_part = len(last.parts)
            got = await fetch(http, url, _HLS_msn=str(msn), _HLS_part=str(next_part))
            assert got.status == 200
            playlist = m3u8.loads(got.text)
            check_media_playlist(playlist)
            newest = all_parts(playlist)[-1]
            # The answer contains the part we asked for, and came no later than one part
            # duration after it could have existed.
            assert got.seconds < 3 * float(playlist.part_inf.part_target) + 0.5
            lags.append(got.seconds)
            assert newest.uri
        assert min(lags) < float(playlist.part_inf.part_target) + 0.05
    finally:
        pusher.kill()
        await pusher.wait()


async def test_reconnect_within_grace_continues_playlist(start_node, http, tmp_path):
    node = await start_node(reconnect_grace=5.0)
    name, key = await node.new_stream()
    code, err = await publish(f"{node.rtmp}/{key}", Source(seconds=3))
    assert code == 0, err
    url = node.playlist_url(name)
    before = m3u8.loads((await fetch(http, url)).text)
    code, err = await publish(f"{node.rtmp}/{key}", Source(seconds=3, width=320, height=240))
    assert code == 0, err
    after = m3u8.loads((await fetch(http, url)).text)
    assert not after.is_endlist
    assert after.media_sequence >= before.media_sequence
    discontinuous = [s for s in after.segments if s.discontinuity]
    assert discontinuous, "the returning publisher's segments follow a discontinuity"
    maps = {s.init_section.uri for s in after.segments if s.init_section}
    assert len(maps) >= 2, "a new init segment describes the new session"
    msns = [after.media_sequence + i for i in range(len(after.segments))]
    assert msns == sorted(set(msns))
    # After the grace period the playlist ends.
    deadline = time.monotonic() + 15
    while not m3u8.loads((await fetch(http, url)).text).is_endlist:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.25)


async def test_reconnect_after_grace_starts_fresh(start_node, http):
    node = await start_node(reconnect_grace=0.5)
    name, key = await node.new_stream()
    code, _ = await publish(f"{node.rtmp}/{key}", Source(seconds=2))
    assert code == 0
    url = node.playlist_url(name)
    old = m3u8.loads((await fetch(http, url)).text)
    old_last = old.media_sequence + len(old.segments) - 1
    deadline = time.monotonic() + 10
    while not m3u8.loads((await fetch(http, url)).text).is_endlist:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=6))
    try:
        deadline = time.monotonic() + 10
        while True:
            got = await fetch(http, url)
            if got.status == 200 and not m3u8.loads(got.text).is_endlist:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        fresh = m3u8.loads(got.text)
        assert not any(s.discontinuity for s in fresh.segments)
        # A new stream instance: numbering moved past the old one, so no cached URL is reused.
        assert fresh.media_sequence > old_last
    finally:
        pusher.kill()
        await pusher.wait()


async def test_wrong_key_is_refused(start_node, http):
    node = await start_node()
    name, _ = await node.new_stream()
    code, _ = await publish(f"{node.rtmp}/trb_not-a-key", Source(seconds=2), timeout=20)
    assert code != 0
    got = await fetch(http, f"{node.http}/live/{name}/master.m3u8")
    assert got.status == 404


async def test_second_publisher_is_refused_while_first_is_live(start_node, http):
    node = await start_node()
    name, key = await node.new_stream()
    first = await start_publish(f"{node.rtmp}/{key}", Source(seconds=8))
    try:
        await wait_playlist(http, node.playlist_url(name))
        code, _ = await publish(f"{node.rtmp}/{key}", Source(seconds=2), timeout=20)
        assert code != 0
        assert first.returncode is None, "the first publisher keeps going"
        got = await fetch(http, node.playlist_url(name))
        assert got.status == 200
    finally:
        first.kill()
        await first.wait()
