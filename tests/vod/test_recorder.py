"""Recordings, driven as the packager drives them (real x264 media, real local storage, real
catalog): what reaches storage, the VOD made at the end, and failures that stay off the live side."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import m3u8
import pytest
from structlog.testing import capture_logs

from catalog.videos import Privacy, Status, Videos
from packager.live.window import SegmentInfo, VariantInfo
from tests.vod.media import fmp4_segments
from vod.recording import Recorder, StreamRecording
from vod.storage import LocalStorage

CODECS = "avc1.64000d"


@pytest.fixture(scope="module")
def media() -> dict[str, tuple[bytes, list[bytes]]]:
    """Four one-second segments per size."""
    return {
        "source": fmp4_segments(seconds=4, size=(640, 360)),
        "180p": fmp4_segments(seconds=4, size=(320, 180)),
        "90p": fmp4_segments(seconds=4, size=(160, 90)),
    }


def variant(name: str, width: int, height: int) -> VariantInfo:
    return VariantInfo(name=name, codecs=CODECS, bandwidth=1, average_bandwidth=1, width=width,
                       height=height, frame_rate=30.0)


def feed(recording: StreamRecording, name: str, init: bytes | None, segments: list[bytes], *,
         first_msn: int = 1000, init_id: int = 1, skip: int = 0) -> None:
    """What a live window hands over: its init segment (unless None), then complete segments."""
    rendition = recording.rendition(name)
    if init is not None:
        rendition.init_added(init_id, init)
    for index, data in enumerate(segments):
        if index >= skip:
            rendition.segment_completed(
                SegmentInfo(msn=first_msn + index, duration=1.0, program_date_time=time.time(),
                            init_id=init_id, discontinuity=False, complete=True, parts=()),
                data,
            )


async def video_of(vod_node, recording: StreamRecording):
    public_id = await vod_node.node.pool.fetchval(
        "SELECT public_id FROM videos WHERE playlist_path = $1", f"{recording.prefix}/master.m3u8")
    return await Videos(vod_node.node.pool).get(public_id) if public_id else None


async def test_recording_becomes_a_ready_video_of_aligned_renditions(
        vod_node, recorder, recordings, node_storage, media, cli_stream):
    stream = await cli_stream()
    recording = recorder.start(stream)
    feed(recording, "source", *media["source"])
    feed(recording, "180p", *media["180p"], init_id=7, skip=1)  # a ladder rung starts a GOP late
    feed(recording, "90p", *media["90p"])
    recording.rendition_dropped("90p")  # shed for CPU: not in the VOD
    with capture_logs() as logs:
        await recording.finish([variant("source", 640, 360), variant("180p", 320, 180),
                                variant("90p", 160, 90)])
    assert [e["event"] for e in logs if e["event"].startswith("recording.")] == ["recording.published"]

    video = await video_of(vod_node, recording)
    assert (video.status, video.privacy) == (Status.READY, Privacy.PUBLIC)
    assert video.title == f"{stream.name} — {recording.started_at:%Y-%m-%d %H:%M} UTC"
    assert video.duration_seconds == pytest.approx(3.0)
    stored = await recordings.stored_video(video.public_id)
    assert stored.renditions == {
        name: f"{recording.prefix}/{name}/index.m3u8" for name in ("source", "180p")}
    [poster_path] = stored.thumbnails.values()
    [thumbnail] = await Videos(vod_node.node.pool).thumbnails(video.id)
    assert (thumbnail.kind, thumbnail.chosen, thumbnail.width, thumbnail.height) == ("poster", True, 640, 360)

    # Storage holds exactly what the VOD refers to: the rung's late start and the shed rung are gone.
    prefix = recording.prefix + "/"
    listed = {info.key.removeprefix(prefix) for info in await node_storage.list(prefix)}
    media_files = {"init1.mp4", "seg1001.m4s", "seg1002.m4s", "seg1003.m4s", "index.m3u8"}
    assert listed == {"master.m3u8", "poster.jpg", *(f"source/{n}" for n in media_files),
                      *(f"180p/{n}".replace("init1", "init7") for n in media_files)}
    assert poster_path == f"{recording.prefix}/poster.jpg"

    master = m3u8.loads((await node_storage.get(stored.playlist_path)).decode())
    assert [p.uri for p in master.playlists] == ["source/index.m3u8", "180p/index.m3u8"]
    sizes = [len(data) for data in media["source"][1][1:]]
    assert master.playlists[0].stream_info.bandwidth == max(sizes) * 8  # one-second segments
    rows = await vod_node.node.pool.fetch(
        "SELECT name, width, height, bitrate, codecs FROM renditions WHERE video_id = $1 ORDER BY id",
        video.id)
    rung_peak = master.playlists[1].stream_info.bandwidth
    assert [tuple(r) for r in rows] == [("source", 640, 360, max(sizes) * 8, CODECS),
                                         ("180p", 320, 180, rung_peak, CODECS)]
    for name in ("source", "180p"):
        playlist = m3u8.loads((await node_storage.get(stored.renditions[name])).decode())
        assert [s.uri for s in playlist.segments] == ["seg1001.m4s", "seg1002.m4s", "seg1003.m4s"]


async def test_an_empty_stream_makes_no_video_and_leaves_nothing(
        vod_node, recorder, node_storage, media, cli_stream):
    recording = recorder.start(await cli_stream())
    feed(recording, "source", media["source"][0], [])  # ended before its first segment completed
    with capture_logs() as logs:
        await recording.finish([variant("source", 640, 360)])
    assert [e["event"] for e in logs] == ["recording.empty"]
    assert await node_storage.list(recording.prefix + "/") == []
    assert await video_of(vod_node, recording) is None
    # No publisher media at all (no variants): the same.
    nothing = recorder.start(await cli_stream())
    await nothing.finish([])


async def test_storage_failures_are_logged_once_and_never_raised(recordings, tmp_path, media, cli_stream):
    (tmp_path / "not-a-directory").write_bytes(b"")
    broken = LocalStorage(tmp_path / "not-a-directory")
    stream = await cli_stream()
    recording = Recorder(broken, recordings, queue_bytes=1 << 26).start(stream)
    with capture_logs() as logs:
        feed(recording, "source", *media["source"])  # the live side's calls return at once
        await recording.finish([variant("source", 640, 360)])
    events = [e["event"] for e in logs]
    assert events == ["recording.write_failed", "recording.empty"], events
    assert logs[0]["stream"] == stream.name


async def test_storage_falling_behind_drops_segments_and_says_so(
        vod_node, recordings, node_storage, media, cli_stream):
    init, segments = media["source"]
    limit = len(init) + len(segments[0]) + len(segments[1])  # room for two queued segments
    recording = Recorder(node_storage, recordings, queue_bytes=limit).start(await cli_stream())
    with capture_logs() as logs:
        feed(recording, "source", init, segments[:3])  # all at once: the third does not fit
        rendition = recording.rendition("source")
        while 1001 not in rendition.playable():  # storage catches up
            await asyncio.sleep(0.01)
        feed(recording, "source", None, [segments[3]], first_msn=1003)
        await recording.finish([variant("source", 640, 360)])
    assert [e["event"] for e in logs] == ["recording.storage_behind", "recording.published"]
    assert logs[-1]["dropped_writes"] == 1
    video = await video_of(vod_node, recording)
    metadata = await vod_node.node.pool.fetchval("SELECT source_metadata FROM videos WHERE id = $1", video.id)
    assert '"dropped_writes": 1' in metadata
    stored = await recordings.stored_video(video.public_id)
    playlist = m3u8.loads((await node_storage.get(stored.renditions["source"])).decode())
    assert [(s.uri, s.discontinuity) for s in playlist.segments] == [
        ("seg1000.m4s", False), ("seg1001.m4s", False), ("seg1003.m4s", True)]


async def test_a_catalog_failure_is_logged_and_never_raised(vod_node, recorder, media, cli_stream):
    stream = await cli_stream()
    orphan = dataclasses.replace(stream, channel_id=2**62)  # its channel is gone
    recording = recorder.start(orphan)
    feed(recording, "source", *media["source"])
    with capture_logs() as logs:
        await recording.finish([variant("source", 640, 360)])
    [failure] = [e for e in logs if e["log_level"] == "error"]
    assert failure["event"] == "recording.failed" and failure["stream"] == stream.name
    assert await video_of(vod_node, recording) is None
