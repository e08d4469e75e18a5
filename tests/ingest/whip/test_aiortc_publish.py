"""An aiortc publisher (a synthetic camera and microphone) over WHIP into a real node: the
stream comes out as LL-HLS that decodes, with both tracks, monotonic times, and audio and
video in sync."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import aiohttp
import av
import m3u8
import numpy as np
import pytest

from tests.ingest.whip.client import WhipClient
from tests.ingest.whip.conftest import WhipNodes, encode_threads, wait_until
from tests.ingest.whip.synthetic import AUDIO_RATE, BeepMicrophone, FlashCamera
from tests.support.llhls import all_parts, check_media_playlist, fetch, wait_playlist
from tests.support.nodes import RunningNode


async def collect(http: aiohttp.ClientSession, node: RunningNode, name: str) -> tuple[m3u8.M3U8, bytes]:
    """The source rendition's playlist and init + every listed part, as one fMP4 byte string."""
    base = f"{node.http}/live/{name}/source"
    playlist = m3u8.loads((await fetch(http, f"{base}/index.m3u8")).text)
    check_media_playlist(playlist)
    blob = (await fetch(http, f"{base}/{playlist.segments[0].init_section.uri}")).body
    for part in all_parts(playlist):
        got = await fetch(http, f"{base}/{part.uri}")
        assert got.status == 200 and got.body[4:8] == b"moof"
        blob += got.body
    return playlist, blob


def decode(tmp_path: Path, blob: bytes) -> tuple[list[av.VideoFrame], list[av.AudioFrame]]:
    path = tmp_path / "whip.mp4"
    path.write_bytes(blob)
    with av.open(str(path)) as container:
        video = list(container.decode(video=0))
    with av.open(str(path)) as container:
        audio = list(container.decode(audio=0))
    return video, audio


async def publish_for(http: aiohttp.ClientSession, node: RunningNode, seconds: float,
                      codec: str | None = None) -> tuple[str, FlashCamera, BeepMicrophone]:
    name, key = await node.new_stream()
    camera, microphone = FlashCamera(), BeepMicrophone()
    client = WhipClient(http, f"{node.http}/whip", key, [camera, microphone], video_codec=codec)
    answer = await client.publish()
    assert answer.status == 201, answer.body
    try:
        await wait_playlist(http, node.playlist_url(name))
        await asyncio.sleep(seconds)
    finally:
        assert await client.delete() == 200
    return name, camera, microphone


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_published_stream_plays_as_llhls(start_node: WhipNodes, http, tmp_path, codec):
    node = await start_node()
    name, camera, _ = await publish_for(http, node, 4.0, codec)

    master = m3u8.loads((await fetch(http, f"{node.http}/live/{name}/master.m3u8")).text)
    info = master.playlists[0].stream_info
    assert info.resolution == (camera.width, camera.height)
    assert "avc1.64" in info.codecs and "mp4a.40.2" in info.codecs
    playlist, blob = await collect(http, node, name)
    assert [s for s in playlist.segments if s.uri], "at least one complete segment"
    video, audio = decode(tmp_path, blob)
    video_times = [f.time for f in video]
    audio_times = [f.time for f in audio]
    assert len(video) > 3 * 25 and len(audio) > 3 * AUDIO_RATE / 1024
    assert video_times == sorted(video_times) and audio_times == sorted(audio_times)
    assert max(np.diff(video_times)) < 0.1, "no gaps in the video"
    assert abs(video_times[0] - audio_times[0]) < 0.2
    assert (video[0].width, video[0].height) == (camera.width, camera.height)
    await wait_until(lambda: not encode_threads(), 5, "the encode thread to end")


def flash_times(video: list[av.VideoFrame]) -> list[float]:
    """The first frame of each flash: the encoder's constant frame-rate grid repeats a frame
    when capture jitter leaves a slot empty, and a repeated flash is still one flash."""
    white = [f.to_ndarray(format="gray").mean() > 128 for f in video]
    return [f.time for i, f in enumerate(video) if white[i] and not (i and white[i - 1])]


def beep_onsets(audio: list[av.AudioFrame]) -> list[float]:
    """Where the signal rises above a quarter of the beep's amplitude after at least 0.5 s quiet."""
    samples = np.concatenate([f.to_ndarray()[0] for f in audio])
    start = audio[0].time
    loud = np.flatnonzero(np.abs(samples) > 0.125)
    onsets = [loud[0]] + [b for a, b in zip(loud, loud[1:]) if b - a > AUDIO_RATE // 2]
    return [start + i / AUDIO_RATE for i in onsets]


async def test_audio_and_video_stay_in_sync(start_node: WhipNodes, http, tmp_path):
    """Every flash and its beep were captured a known time apart; they come out the same.

    The first frames are placed by arrival; once both tracks' RTCP sender reports are in
    (aiortc sends one every 0.5-1.5 s) the offset is the sender's own: about 6 ms here, which
    is Opus's 6.5 ms look-ahead (aiortc's sender stamps audio before it).
    """
    node = await start_node()
    name, camera, microphone = await publish_for(http, node, 8.0)
    truth = statistics.median(
        beep - flash for flash in camera.flashes for beep in microphone.beeps if abs(beep - flash) < 0.5
    )
    _, blob = await collect(http, node, name)
    video, audio = decode(tmp_path, blob)
    flashes, beeps = flash_times(video), beep_onsets(audio)
    errors_ms = [round((min(beeps, key=lambda b: abs(b - f)) - f - truth) * 1000, 1) for f in flashes]
    assert len(errors_ms) >= 6, (flashes, beeps)
    # Before the first reports (the first second or two) arrival anchoring is within 100 ms
    # (aiortc's jitter buffer holds audio ~80 ms longer than video); then within half a frame
    # while the frame grid's phase follows (it moves 0.15 ms per frame), then the sender's own.
    assert all(abs(e) <= 100 for e in errors_ms[:2]), errors_ms
    assert all(abs(e) <= 500 / camera.fps for e in errors_ms[2:]), errors_ms
    assert all(abs(e) <= 12 for e in errors_ms[-3:]), errors_ms
