"""A small LL-HLS client for tests: fetch playlists and media, and check the draft's rules.

Parsing uses the maintained ``m3u8`` library, so the checks do not share code with the
playlist writer they check.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import m3u8

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


@dataclass
class Fetched:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode()


async def fetch(session: aiohttp.ClientSession, url: str, **params: str) -> Fetched:
    started = time.perf_counter()
    async with session.get(url, params=params or None) as resp:
        body = await resp.read()
        return Fetched(resp.status, body, dict(resp.headers), time.perf_counter() - started)


async def wait_playlist(
    session: aiohttp.ClientSession, url: str, timeout: float = 15, **params: str
) -> m3u8.M3U8:
    """Poll until the URL answers 200 (the stream may not be live yet)."""
    deadline = time.monotonic() + timeout
    while True:
        got = await fetch(session, url, **params)
        if got.status == 200:
            return m3u8.loads(got.text)
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} still {got.status}: {got.text[:200]}")
        await asyncio.sleep(0.1)


def all_parts(playlist: m3u8.M3U8) -> list[m3u8.PartialSegment]:
    return [part for segment in playlist.segments for part in segment.parts]


def check_media_playlist(playlist: m3u8.M3U8) -> None:
    """The LL-HLS rules of draft-pantos-hls-rfc8216bis that a live media playlist must obey."""
    control = playlist.server_control
    assert control is not None and control.can_block_reload == "YES"
    part_target = float(playlist.part_inf.part_target)
    assert float(control.part_hold_back) >= 3 * part_target - 1e-9
    assert float(control.can_skip_until) >= 6 * playlist.target_duration
    complete = [s for s in playlist.segments if s.uri]
    assert complete or all_parts(playlist), "playlist lists no media"
    for segment in complete:
        assert round(segment.duration) <= playlist.target_duration
        assert segment.program_date_time is not None, "every segment carries PROGRAM-DATE-TIME"
        assert segment.init_section is not None and segment.init_section.uri
    for segment in playlist.segments:
        parts = segment.parts
        if not parts:
            continue
        assert parts[0].independent == "YES", "a segment starts with an independent part"
        for index, part in enumerate(parts):
            assert part.duration <= part_target + 1e-9, (part.uri, part.duration, part_target)
            is_last = index == len(parts) - 1
            if not is_last and segment.uri:
                assert part.duration >= 0.85 * part_target, (part.uri, part.duration)
        if segment.uri:
            assert abs(sum(p.duration for p in parts) - segment.duration) < 0.002
    if not playlist.is_endlist:
        assert playlist.preload_hint is not None and playlist.preload_hint.hint_type == "PART"
