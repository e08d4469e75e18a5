"""One ffmpeg publishing the same encoded A/V to several RTMP URLs at once (the ``tee`` muxer).

One encoder feeds every output, so each receiver gets identical packets with identical
timestamps: what two origins need to package one live stream identically, media for media.
``onfail=ignore`` keeps the other outputs going when one receiver dies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tests.support.ffmpeg import Source


def tee_args(urls: Sequence[str], source: Source) -> list[str]:
    """``source``'s ffmpeg command line (tests/support/ffmpeg.py) with its FLV output replaced
    by a tee of FLV outputs, one per URL."""
    single = source.args(urls[0])
    if single[-3:] != ["-f", "flv", urls[0]]:
        raise AssertionError(f"Source.args no longer ends with its FLV output: {single[-3:]}")
    maps = ["-map", "0:v"] + (["-map", "1:a"] if source.audio else [])
    # The tee muxer cannot tell the encoders that FLV wants global headers (SPS/PPS and the
    # AudioSpecificConfig out of band, for the sequence headers), so ask for them explicitly.
    headers = ["-flags:v", "+global_header"]
    if source.audio:
        headers += ["-flags:a", "+global_header"]
    outputs = "|".join(f"[f=flv:onfail=ignore]{url}" for url in urls)
    return [*single[:-3], *headers, *maps, "-f", "tee", outputs]


async def start_tee_publish(
    urls: Sequence[str], source: Source = Source()
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *tee_args(urls, source), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
