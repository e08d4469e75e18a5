"""Timestamps a real publisher may send — near the 32-bit wrap, jumping back, jumping ahead —
pushed over RTMP into a real node: the LL-HLS output stays monotonic, continuous and in sync."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import av
import m3u8
import pytest

from tests.support.llhls import check_media_playlist, fetch, wait_playlist
from tests.support.media import Encoded, encode_flv
from tests.support.nodes import node_factory
from tests.support.rtmp_client import RawClient

WRAP = 1 << 32


def near_wrap(ms: int) -> int:
    return (WRAP - 1500 + ms) % WRAP


def restart_midway(ms: int) -> int:
    return 500_000 + ms if ms < 1500 else ms - 1500  # the encoder restarts its clock at 1.5 s


def leap_ahead(ms: int) -> int:
    return ms if ms < 1500 else ms + 3_600_000  # a relay splices in a clock an hour ahead


async def push(
    rtmp_port: int, key: str, encoded: Encoded, *,
    stamp: Callable[[int], int] = lambda ms: ms, audio_config_at_ms: int = 0,
) -> None:
    """Publish ``encoded`` paced in real time, as an encoder would, each packet's timestamp
    passed through ``stamp``; the audio configuration goes out just before the first packet at
    or after ``audio_config_at_ms`` (audio before it cannot be decoded). A node that dropped
    the publisher fails a drain."""
    client = await RawClient.connect(rtmp_port)
    try:
        status = await client.publish(key)
        assert status[3]["code"] == "NetStream.Publish.Start"
        client.send_video_config(encoded.video)
        audio_pending = True
        began = time.monotonic()
        for packet in encoded.packets:
            delay = began + packet.dts_ms / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if audio_pending and packet.dts_ms >= audio_config_at_ms:
                client.send_audio_config(encoded.audio)
                audio_pending = False
            client.send_media(packet, stamp(packet.dts_ms))
            await client.writer.drain()
        await asyncio.sleep(0.3)
    finally:
        client.close()


def frame_times(path: Path, fmp4: bytes) -> tuple[list[float], list[float]]:
    """Presentation times (seconds) of the decoded video frames, in order, and of the audio
    packets of an init segment followed by its media."""
    path.write_bytes(fmp4)
    with av.open(str(path)) as c:
        video = sorted(f.time for f in c.decode(video=0))
    with av.open(str(path)) as c:
        audio = [float(p.pts * p.time_base) for p in c.demux(audio=0) if p.size]
    return video, audio


async def settled_playlist(http: aiohttp.ClientSession, url: str) -> m3u8.M3U8:
    """The playlist once the publisher's last parts are in (nothing new for half a second)."""
    last = None
    while True:
        playlist = await wait_playlist(http, url)
        newest = playlist.segments[-1].parts[-1].uri if playlist.segments[-1].parts else None
        if newest == last:
            return playlist
        last = newest
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("stamp", [near_wrap, restart_midway, leap_ahead],
                         ids=["32bit-wrap", "jump-back", "jump-ahead"])
async def test_publisher_timestamps_become_one_clean_timeline(
    services, tmp_path, stamp: Callable[[int], int]
):
    encoded = encode_flv(4.0, fps=30, gop=30, bframes=2)
    async with node_factory(services, tmp_path) as start, aiohttp.ClientSession() as http:
        node = await start()
        name, key = await node.new_stream()
        await push(node.node.endpoints.rtmp_port, key, encoded, stamp=stamp)

        url = node.playlist_url(name)
        playlist = await settled_playlist(http, url)
        check_media_playlist(playlist)
        assert not any(s.discontinuity for s in playlist.segments), "a jump is not a new session"
        base = url.rsplit("/", 1)[0]
        blob = (await fetch(http, f"{base}/{playlist.segments[0].init_section.uri}")).body
        for segment in playlist.segments:
            if segment.uri:
                blob += (await fetch(http, f"{base}/{segment.uri}")).body
            else:
                for part in segment.parts:
                    blob += (await fetch(http, f"{base}/{part.uri}")).body
    video, audio = frame_times(tmp_path / "out.mp4", blob)
    sent_video = sum(1 for p in encoded.packets if p.kind == "video")
    gaps = [(round(a, 3), round(b, 3)) for a, b in zip(video, video[1:]) if b - a > 0.04]
    assert len(video) >= sent_video - 2, (len(video), gaps, video[-3:])
    steps = [b - a for a, b in zip(video, video[1:])]
    assert all(0 < s < 0.1 for s in steps), max(steps)  # no jump survives into the output
    assert all(0 < b - a < 0.1 for a, b in zip(audio, audio[1:]))
    assert abs(video[-1] - audio[-1]) < 0.15  # still in sync at the end
    assert 3.5 < video[-1] - video[0] < 4.5


async def test_audio_whose_configuration_comes_late_joins_the_stream(services, tmp_path):
    """A publisher that starts with video alone and configures audio half a second later (a
    late AAC sequence header; audio sent before it cannot be decoded and is dropped): the
    stream carries on, and the audio that follows is in the output, in sync with the video."""
    encoded = encode_flv(4.0, fps=30, gop=30, bframes=0)
    async with node_factory(services, tmp_path) as start, aiohttp.ClientSession() as http:
        node = await start()
        name, key = await node.new_stream()
        await push(node.node.endpoints.rtmp_port, key, encoded, audio_config_at_ms=500)

        url = node.playlist_url(name)
        playlist = await settled_playlist(http, url)
        check_media_playlist(playlist)
        # Media from before the audio joined has an initialisation of its own (video only),
        # after a discontinuity: the output since the last EXT-X-MAP is what has both tracks.
        since_audio: list[m3u8.Segment] = []
        for segment in playlist.segments:
            if segment.init_section is not None:
                since_audio = []
            since_audio.append(segment)
        assert since_audio[0].discontinuity, "the audio joined without a new initialisation"
        base = url.rsplit("/", 1)[0]
        blob = (await fetch(http, f"{base}/{since_audio[0].init_section.uri}")).body
        for segment in since_audio:
            for part in segment.parts:
                blob += (await fetch(http, f"{base}/{part.uri}")).body
    video, audio = frame_times(tmp_path / "out.mp4", blob)
    assert audio, "no audio after its configuration arrived"
    assert all(0 < b - a < 0.1 for a, b in zip(audio, audio[1:]))
    assert abs(video[-1] - audio[-1]) < 0.15
