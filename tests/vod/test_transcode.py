"""Uploads become HLS VODs (vod/transcode): real ffmpeg makes the files, the node's storage and
catalog hold them, ``transcode_video`` runs as a worker runs it, and the node's origin serves
the result to a decoder and to hls.js in headless Chromium."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import socket
import subprocess
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import av
import m3u8
import numpy as np
import pytest

from catalog.videos import Privacy
from tests.support.api_client import Account, Api
from tests.support.edges import edge_factory
from tests.support.ffmpeg import Source, make_file
from tests.support.llhls import PLAYLIST_TYPE, fetch
from tests.support.transcodes import SETTINGS, transcode_deps, uploaded
from tests.support.vod_playback import plays_to_the_end
from vod.transcode.pipeline import output_prefix, transcode_video
from vod.transcode.plan import TIMELINE_START

LANDSCAPE = Source(seconds=6, width=640, height=360, realtime=False)
PHONE = Source(seconds=4, width=640, height=360, realtime=False)
SILENT = Source(seconds=3, width=640, height=360, audio=False, realtime=False)
LONG = Source(seconds=20, width=640, height=360, realtime=False)


async def transcode_watching_status(
    api: Api, owner: Account, video_id: str, transcode: Coroutine[Any, Any, None]
) -> list[dict[str, Any]]:
    """Run the transcode while polling the status the API reports; every distinct answer."""
    task = asyncio.create_task(transcode)
    seen: list[dict[str, Any]] = []
    while not task.done():
        got = await api.call("GET", f"/videos/{video_id}/status", account=owner)
        assert got.status == 200, got.body
        if not seen or got.body != seen[-1]:
            seen.append(got.body)
        await asyncio.sleep(0.03)
    await task
    final = await api.call("GET", f"/videos/{video_id}/status", account=owner)
    return [*seen, final.body]


def decode_video(init: bytes, segment: bytes) -> list[av.VideoFrame]:
    with av.open(io.BytesIO(init + segment), format="mp4") as container:
        return list(container.decode(video=0))


async def rendition_media(api: Api, url: str) -> tuple[bytes, list[bytes], m3u8.M3U8]:
    """(init segment, media segments, media playlist) of the rendition at ``url``."""
    playlist = m3u8.loads((await fetch(api.session, url)).body.decode())
    base = url.rsplit("/", 1)[0]
    [init_uri] = {segment.init_section.uri for segment in playlist.segments}
    init = (await fetch(api.session, f"{base}/{init_uri}")).body
    segments = [(await fetch(api.session, f"{base}/{segment.uri}")).body for segment in playlist.segments]
    return init, segments, playlist


async def test_an_upload_becomes_a_vod_that_plays_with_every_rendition(vod_node, api, tmp_path):
    owner = await api.register(creator=True)
    path = tmp_path / "landscape.mp4"
    await make_file(path, LANDSCAPE)
    video_id, raw_key = await uploaded(api, owner, path.read_bytes(), "Landscape")
    storage = vod_node.node.storage
    prefix = output_prefix(video_id)
    left_over = f"{prefix}/360p/seg9.m4s"
    await storage.put(left_over, b"left by a try that crashed")
    deps = transcode_deps(vod_node, tmp_path / "work")

    statuses = await transcode_watching_status(api, owner, video_id, transcode_video(deps, video_id, raw_key))

    # Progress reached the catalog on the way, with an expected end; then ready, at 100 %.
    working = [s for s in statuses if s["status"] == "processing" and 0 < s["progress_percent"] < 100]
    assert working and all(s["eta"] is not None for s in working), statuses
    assert [s["progress_percent"] for s in working] == sorted(s["progress_percent"] for s in working)
    assert statuses[-1] == {"id": video_id, "status": "ready", "progress_percent": 100, "eta": None,
                            "failure_reason": None}
    video = (await api.call("GET", f"/videos/{video_id}")).body
    assert video["duration_seconds"] == pytest.approx(LANDSCAPE.seconds, abs=0.05)
    assert await storage.get(raw_key) == path.read_bytes(), "the upload is kept"
    assert left_over not in {o.key for o in await storage.list(prefix + "/")}

    # The ladder stops at the source's size; audio is a rendition of its own.
    master_got = await fetch(api.session, video["playback_url"])
    assert master_got.status == 200 and master_got.headers["Content-Type"] == PLAYLIST_TYPE
    master = m3u8.loads(master_got.body.decode())
    [group] = master.media
    assert (group.type, group.group_id, group.uri, group.default) == ("AUDIO", "audio", "audio/index.m3u8", "YES")
    variants = {p.uri: p.stream_info for p in master.playlists}
    assert set(variants) == {"360p/index.m3u8", "240p/index.m3u8", "audio/index.m3u8"}
    assert variants["360p/index.m3u8"].resolution == (640, 360)
    assert variants["240p/index.m3u8"].resolution == (426, 240)
    assert variants["audio/index.m3u8"].resolution is None
    assert variants["audio/index.m3u8"].codecs == "mp4a.40.2"
    for uri in ("360p/index.m3u8", "240p/index.m3u8"):
        info = variants[uri]
        assert info.audio == "audio" and re.fullmatch(r"avc1\.[0-9a-f]{6},mp4a\.40\.2", info.codecs)
        assert info.bandwidth > info.average_bandwidth > variants["audio/index.m3u8"].average_bandwidth
        assert info.frame_rate == 30
    assert variants["360p/index.m3u8"].average_bandwidth > variants["240p/index.m3u8"].average_bandwidth

    # ~4 s segments, cut at the same instants in every video rendition, each from a keyframe.
    base = video["playback_url"].rsplit("/", 1)[0]
    starts: dict[str, list[float]] = {}
    for name in ("360p", "240p"):
        init, segments, playlist = await rendition_media(api, f"{base}/{name}/index.m3u8")
        assert playlist.is_endlist and playlist.playlist_type == "vod" and playlist.target_duration == 4
        assert [s.duration for s in playlist.segments] == pytest.approx([4.0, 2.0], abs=0.001)
        starts[name] = []
        for segment in segments:
            frames = decode_video(init, segment)
            assert frames[0].key_frame and (frames[0].width, frames[0].height) == variants[f"{name}/index.m3u8"].resolution
            starts[name].append(float(frames[0].time))
        frames = decode_video(init, b"".join(segments))
        assert len(frames) == LANDSCAPE.seconds * LANDSCAPE.fps
    assert starts["360p"] == starts["240p"] == pytest.approx([TIMELINE_START, TIMELINE_START + 4])

    # The audio: AAC all along, its first real sample (after the encoder's priming) with the
    # first picture.
    init, segments, playlist = await rendition_media(api, f"{base}/audio/index.m3u8")
    assert sum(s.duration for s in playlist.segments) == pytest.approx(LANDSCAPE.seconds, abs=0.05)
    with av.open(io.BytesIO(init + b"".join(segments)), format="mp4") as container:
        assert not container.streams.video
        sound = list(container.decode(audio=0))
    assert (sound[0].sample_rate, sound[0].layout.name) == (48_000, "mono")
    assert float(sound[0].time) + 1024 / 48_000 == pytest.approx(starts["360p"][0], abs=0.001)
    assert sum(f.samples for f in sound) / 48_000 == pytest.approx(LANDSCAPE.seconds, abs=0.05)

    # The poster, thumbnails and storyboard sheets are JPEGs of the sizes the API says.
    pictures = (await api.call("GET", f"/videos/{video_id}/thumbnails", account=owner)).body
    kinds = [p["kind"] for p in pictures]
    assert sorted(kinds) == ["poster", "storyboard", "storyboard", *["thumbnail"] * SETTINGS.thumbnails]
    assert [p["chosen"] for p in pictures if p["kind"] == "poster"] == [True]
    images = {}
    for picture in pictures:
        got = await fetch(api.session, picture["url"])
        assert got.status == 200 and got.headers["Content-Type"] == "image/jpeg"
        with av.open(io.BytesIO(got.body), format="mjpeg") as container:
            images[picture["id"]] = next(container.decode(video=0)).to_ndarray(format="rgb24")
        assert images[picture["id"]].shape == (picture["height"], picture["width"], 3)
    assert {(p["width"], p["height"]) for p in pictures if p["kind"] != "storyboard"} == {(640, 360)}
    sheets = {p["id"]: p for p in pictures if p["kind"] == "storyboard"}
    assert sorted((p["width"], p["height"]) for p in sheets.values()) == [(192, 54), (192, 108)]

    # The storyboard track: a cue a second, each naming a tile of a sheet that holds a picture.
    track_got = await fetch(api.session, f"{base}/storyboard.vtt")
    assert track_got.status == 200 and track_got.headers["Content-Type"].startswith("text/vtt")
    cues = parse_vtt(track_got.body.decode())
    assert [(start, end) for start, end, _ in cues] == [(t, t + 1.0) for t in range(6)]
    for _, _, uri in cues:
        image, x, y, w, h = re.fullmatch(r"thumb(\d+)\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)", uri).groups()
        sheet = images[int(image)]
        x, y, w, h = int(x), int(y), int(w), int(h)
        assert int(image) in sheets and (w, h) == (96, 54)
        assert y + h <= sheet.shape[0] and x + w <= sheet.shape[1]
        assert sheet[y : y + h, x : x + w].std() > 20, "a tile holds a picture, not a blank"

    # What the probe found is the video's source metadata.
    metadata = json.loads(await vod_node.node.pool.fetchval(
        "SELECT source_metadata FROM videos WHERE public_id = $1", video_id))
    assert metadata["container"].startswith("mov,mp4")
    assert (metadata["video"]["codec"], metadata["video"]["width"], metadata["video"]["frame_rate"]) == ("h264", 640, 30)
    assert (metadata["audio"]["codec"], metadata["audio"]["sample_rate"]) == ("aac", 48_000)

    # hls.js lists every rendition and plays the video to its end.
    played = await plays_to_the_end(vod_node, video["playback_url"], video["duration_seconds"])
    assert sorted(played.levels) == [(426, 240), (640, 360)] and played.audio_tracks == 1

    # A retried job finds the video ready and changes nothing.
    stored = await storage.list(prefix + "/")
    await transcode_video(deps, video_id, raw_key)
    assert await storage.list(prefix + "/") == stored
    assert (await api.call("GET", f"/videos/{video_id}/status", account=owner)).body == statuses[-1]


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """(start, end, payload) of every cue of a WebVTT file with one-line payloads."""
    lines = text.splitlines()
    assert lines[0] == "WEBVTT"
    cues = []
    for timing, payload in zip(lines, lines[1:]):
        if "-->" in timing:
            start, end = (_vtt_seconds(t.strip()) for t in timing.split("-->"))
            cues.append((start, end, payload))
    return cues


def _vtt_seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


async def test_a_phone_video_is_turned_upright(vod_node, api, tmp_path):
    owner = await api.register(creator=True)
    path = tmp_path / "phone.mp4"
    await make_file(path, PHONE, rotate=90)
    video_id, raw_key = await uploaded(api, owner, path.read_bytes(), "Portrait")

    await transcode_video(transcode_deps(vod_node, tmp_path / "work"), video_id, raw_key)

    video = (await api.call("GET", f"/videos/{video_id}")).body
    assert video["status"] == "ready"
    master = m3u8.loads((await fetch(api.session, video["playback_url"])).body.decode())
    sizes = {p.uri: p.stream_info.resolution for p in master.playlists if p.stream_info.resolution}
    # Portrait sizes, named by their short side as viewers know them.
    assert sizes == {"360p/index.m3u8": (360, 640), "240p/index.m3u8": (240, 426)}

    # The picture is the one ffmpeg shows for the file (it applies the display matrix too).
    base = video["playback_url"].rsplit("/", 1)[0]
    init, segments, _ = await rendition_media(api, f"{base}/360p/index.m3u8")
    ours = decode_video(init, segments[0])[0].to_ndarray(format="rgb24").astype(int)
    shown = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    upright = np.frombuffer(shown, np.uint8).reshape(640, 360, 3).astype(int)
    assert np.abs(ours - upright).mean() < 8
    assert np.abs(ours - upright[::-1, ::-1]).mean() > 30, "turned the other way it would differ"

    poster = next(p for p in (await api.call("GET", f"/videos/{video_id}/thumbnails", account=owner)).body
                  if p["kind"] == "poster")
    assert (poster["width"], poster["height"]) == (360, 640)
    played = await plays_to_the_end(vod_node, video["playback_url"], video["duration_seconds"])
    assert played.picture == (360, 640) and sorted(played.levels) == [(240, 426), (360, 640)]


async def test_a_video_without_sound_has_no_audio_rendition(vod_node, api, tmp_path):
    owner = await api.register(creator=True)
    path = tmp_path / "silent.mp4"
    await make_file(path, SILENT)
    video_id, raw_key = await uploaded(api, owner, path.read_bytes(), "Silent")

    await transcode_video(transcode_deps(vod_node, tmp_path / "work"), video_id, raw_key)

    video = (await api.call("GET", f"/videos/{video_id}")).body
    assert video["status"] == "ready"
    assert video["duration_seconds"] == pytest.approx(SILENT.seconds, abs=0.05)
    master = m3u8.loads((await fetch(api.session, video["playback_url"])).body.decode())
    assert not master.media
    assert {(p.uri, p.stream_info.audio) for p in master.playlists} == {("360p/index.m3u8", None),
                                                                       ("240p/index.m3u8", None)}
    assert all(re.fullmatch(r"avc1\.[0-9a-f]{6}", p.stream_info.codecs) for p in master.playlists)
    kinds = await vod_node.node.pool.fetch(
        "SELECT r.kind::text FROM renditions r JOIN videos v ON v.id = r.video_id WHERE v.public_id = $1",
        video_id)
    assert sorted(row["kind"] for row in kinds) == ["video", "video"]


@pytest.mark.parametrize("served_by", ["origin", "edge", "edge_from_storage"])
async def test_an_unlisted_videos_storyboard_hands_its_token_on(vod_node, api, tmp_path, served_by):
    """From the origin, through an edge (which adds each viewer's token to its shared copy), and
    from an edge whose only origin is dead (the track read from storage)."""
    owner = await api.register(creator=True)
    path = tmp_path / "unlisted.mp4"
    await make_file(path, SILENT)
    video_id, raw_key = await uploaded(api, owner, path.read_bytes(), "Unlisted", Privacy.UNLISTED)
    await transcode_video(transcode_deps(vod_node, tmp_path / "work"), video_id, raw_key)

    async with edge_factory(vod_node.node.settings.data_dir) as start_edge:
        if served_by == "origin":
            base = vod_node.http
        else:
            with socket.socket() as closed:  # bound, never listening: connections are refused
                closed.bind(("127.0.0.1", 0))
                dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
                origin = vod_node.http if served_by == "edge" else dead
                base = (await start_edge([origin], storage_fallback=True)).http
        track_url = f"{base}/vod/{video_id}/storyboard.vtt"
        assert (await fetch(api.session, track_url)).status == 403
        token = (await api.call("POST", f"/videos/{video_id}/playback-token", account=owner)).body["token"]
        got = await fetch(api.session, track_url, token=token)
        assert got.status == 200 and "private" in got.headers["Cache-Control"]
        cues = parse_vtt(got.body.decode())
        assert len(cues) == SILENT.seconds
        for _, _, uri in cues:
            image, query, fragment = re.fullmatch(r"(thumb\d+\.jpg)\?([^#]+)#(xywh=.+)", uri).groups()
            assert parse_qs(query) == {"token": [token]}
            sheet = await fetch(api.session, f"{base}/vod/{video_id}/{image}?{query}")
            assert sheet.status == 200 and sheet.headers["Content-Type"] == "image/jpeg"


async def test_a_cancelled_transcode_kills_its_child_and_leaves_no_outputs(vod_node, api, tmp_path):
    owner = await api.register(creator=True)
    path = tmp_path / "long.mp4"
    await make_file(path, LONG)
    video_id, raw_key = await uploaded(api, owner, path.read_bytes(), "Long")
    work = tmp_path / "work"
    storage = vod_node.node.storage
    prefix = output_prefix(video_id)

    task = asyncio.create_task(transcode_video(transcode_deps(vod_node, work), video_id, raw_key))
    while not await storage.list(prefix + "/"):  # the child is encoding: outputs arrive
        assert not task.done()
        await asyncio.sleep(0.02)
    [child] = children_working_in(work)
    assert niceness(child) == min(19, os.nice(0) + SETTINGS.nice), "the child yields to live work"

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not Path(f"/proc/{child}").exists(), "the child was killed and reaped"
    assert await storage.list(prefix + "/") == []
    assert list(work.iterdir()) == []
    assert await storage.get(raw_key) == path.read_bytes()
    status = (await api.call("GET", f"/videos/{video_id}/status", account=owner)).body
    assert status["status"] == "processing", "whoever cancelled decides what happens next"


def children_working_in(work: Path) -> list[int]:
    """Transcode children whose request lies under ``work``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"vod.transcode.child" in args and any(arg.startswith(str(work).encode()) for arg in args):
            found.append(int(entry.name))
    return found


def niceness(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])
