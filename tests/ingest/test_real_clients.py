"""Real ffmpeg publishers: what arrives must be exactly what ffmpeg sent (its FLV copy says what that was)."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

import pytest

from ingest.rtmp import RtmpServer
from tests.ingest.conftest import Publishers, ffmpeg_tee_args, flv_file_events, wait_until
from tests.support.ffmpeg import Source, publish

SOURCES = {
    "zerolatency-48k": Source(seconds=4),
    "bframes-48k": Source(seconds=4, bframes=2),
    "44k-gop37-25fps": Source(seconds=4, fps=25, gop=37, sample_rate=44_100),
}


@pytest.mark.parametrize("name", SOURCES)
async def test_ffmpeg_publish_arrives_as_sent(
    server: RtmpServer, publishers: Publishers, tmp_path: Path, name: str
) -> None:
    source = SOURCES[name]
    copy = tmp_path / "sent.flv"
    url = f"rtmp://127.0.0.1:{server.port}/live/key"
    proc = await asyncio.create_subprocess_exec(
        *ffmpeg_tee_args(source, url, copy), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode(errors="replace")

    [live] = publishers.for_key("key")
    await wait_until(lambda: live.closes == 1, what="LiveInput.close() after ffmpeg ended")
    assert live.app == "live"
    # Every config, packet, timestamp, composition time and keyframe flag, in order, as sent.
    assert live.events == flv_file_events(copy)

    kinds = [event[0] for event in live.events]
    assert kinds[0] == "metadata"
    assert kinds.index("video_config") < kinds.index("video")
    assert kinds.index("audio_config") < kinds.index("audio")
    assert live.metadata[0]["width"] == source.width and live.metadata[0]["videocodecid"] == 7
    assert live.audio_config is not None and live.audio_config.sample_rate == source.sample_rate
    assert live.video_config is not None and live.video_config.codec_string.startswith("avc1.64")

    video = [p for p in live.packets if p.kind == "video"]
    audio = [p for p in live.packets if p.kind == "audio"]
    assert len(video) == pytest.approx(source.seconds * source.fps, abs=2)
    assert video[0].keyframe
    keyframes = [p.dts_ms for p in video if p.keyframe]
    gop_ms = source.gop * 1000 / source.fps
    assert len(keyframes) >= 2
    assert all(abs(b - a - gop_ms) <= 1 for a, b in pairwise(keyframes))
    assert any(p.cts_ms > 0 for p in video) == (source.bframes > 0)
    frame_ms = 1024_000 / source.sample_rate
    assert all(abs(b.dts_ms - a.dts_ms - frame_ms) < 1 for a, b in pairwise(audio))

    await wait_until(lambda: server.session_count == 0)
    assert live.closes == 1


async def test_ffmpeg_with_a_wrong_key_fails(server: RtmpServer, publishers: Publishers) -> None:
    code, err = await publish(f"rtmp://127.0.0.1:{server.port}/live/wrong", Source(seconds=1))
    assert code != 0
    assert "unknown stream key" in err
    assert publishers.inputs == []
    await wait_until(lambda: server.session_count == 0)
