"""Non-AAC FLV audio becomes AAC on the RTMP session's transcode thread; garbage costs only
the tags it is in."""

from __future__ import annotations

import asyncio

import numpy as np
from ingest.rtmp.audio_transcode import AudioTranscoder
from packager.media import MediaPacket

MULAW_8K_MONO_16BIT = (8 << 4) | 2  # SoundFormat 8, SoundSize 16-bit, mono (rate bits ignored)


def mulaw(samples: int) -> bytes:
    return (np.arange(samples) % 256).astype(np.uint8).tobytes()


async def run(tags: list[tuple[int, bytes, int]]) -> tuple[AudioTranscoder, list[MediaPacket]]:
    delivered: list[MediaPacket] = []
    transcoder = AudioTranscoder("test", delivered.extend)
    for header, data, timestamp in tags:
        transcoder.put(header, data, timestamp, 0.0)
    transcoder.close()
    await asyncio.to_thread(transcoder._thread.join, 10)
    await asyncio.sleep(0)  # the thread's last call_soon_threadsafe
    return transcoder, delivered


async def test_g711_becomes_aac_on_a_continuous_clock():
    # 2 s of 8 kHz mu-law in 20 ms tags, with the millisecond jitter real publishers have.
    tags = [(MULAW_8K_MONO_16BIT, mulaw(160), i * 20 + (i % 3 == 1)) for i in range(100)]
    transcoder, packets = await run(tags)
    assert transcoder.config.sample_rate == 48_000 and transcoder.config.channels == 2
    assert transcoder.decode_errors == 0
    # All of it but the encoder's look-ahead and the partial frame still queued at the end.
    assert 2 * 48_000 / 1024 - 4 <= len(packets) <= 2 * 48_000 / 1024
    steps = [b.dts_ms - a.dts_ms for a, b in zip(packets, packets[1:])]
    assert set(steps) <= {21, 22}  # 1024 samples at 48 kHz = 21.33 ms, never a gap or overlap
    assert packets[0].dts_ms >= 0


async def test_garbage_mp3_is_dropped_and_later_audio_still_transcodes():
    garbage = [((2 << 4) | 0xF, bytes([0xFF, 0xFB]) + b"\x00" * 50, i * 26) for i in range(20)]
    good = [(MULAW_8K_MONO_16BIT, mulaw(160), 600 + i * 20) for i in range(50)]
    transcoder, packets = await run(garbage + good)
    assert packets and all(p.kind == "audio" for p in packets)
    assert packets[0].dts_ms >= 550
