"""LL-HLS viewers as a load generator: each one loads a live media playlist the way hls.js does
in low-latency mode, and logs when each part's bytes arrived.

Per viewer: one plain playlist to tune in and the init segment, then a loop of blocking
playlist reloads for the part after the newest one listed (``_HLS_msn``/``_HLS_part``, plus
``_HLS_skip=YES`` as hls.js asks once the server advertises CAN-SKIP-UNTIL). As each playlist
arrives, the part in its ``EXT-X-PRELOAD-HINT`` is requested at once (the server holds that
request until the part exists), and so is any listed part not requested yet. So a viewer keeps
two requests open — the next playlist and the next part — and each new part costs it two
requests. Requests carry ``Accept-Encoding: gzip``, as a browser's do.

``python -m bench.llhls_viewers`` is one generator process (``bench/edge_load.py`` starts
them): its viewers join spread over ``--join-at``…``--join-at + --ramp``, requests completed
between ``--window-start`` and ``--window-end`` are counted, and at ``--stop-at`` it writes
when every part arrived at every viewer to ``--out``. Times are CLOCK_MONOTONIC, which is
system-wide on Linux, so the process that started it compares them with its own readings.

A generator stamps a part's arrival only when its event loop gets to the response, and every
viewer's answer to one part arrives at the same instant, so the generator's own per-request
cost adds to the figures of the last viewers served. It is kept low (uvloop; a hand-written
HTTP/1.1 keep-alive client, ``bench/http1_client.py``, cheaper than aiohttp's; no client
timeout timers; a playlist scan instead of a full parser), and the event loop's lag is sampled
so the benchmark can tell when the generator, not the server, set a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import time
from collections import defaultdict
from dataclasses import dataclass

from urllib.parse import urlsplit

import uvloop

from bench.http1_client import Http1Connection, HttpError

LAG_TICK = 0.01
_PART_INDEX = re.compile(r"part(\d+)\.m4s")
_MAP = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')


@dataclass(frozen=True, slots=True)
class Playlist:
    """What a player needs from a media playlist to go on: the position of the next part (the
    blocking reload's ``_HLS_msn``/``_HLS_part``), the newest part listed or hinted, the init
    segment and whether delta updates may be asked for."""

    next_msn: int
    next_part: int
    newest_part: int
    init_uri: str | None
    can_skip: bool


def parse_playlist(text: str) -> Playlist:
    """Counts and searches over the whole text (C speed; a line-by-line parse, let alone the
    ``m3u8`` package, would cost the generator more than the request itself).

    The next part's MSN is EXT-X-MEDIA-SEQUENCE plus the segments an EXT-X-SKIP left out plus
    the complete segments listed (one EXTINF each); its number within that segment is the count
    of parts after the last EXTINF. The newest part is the preload hint's, else the last listed.
    """
    msn = _number_after(text, "#EXT-X-MEDIA-SEQUENCE:") + text.count("#EXTINF:")
    if "#EXT-X-SKIP:" in text:
        msn += _number_after(text, "SKIPPED-SEGMENTS=")
    next_part = text.count("#EXT-X-PART:", max(0, text.rfind("#EXTINF:")))
    hint = text.rfind("#EXT-X-PRELOAD-HINT:TYPE=PART")
    last = hint if hint >= 0 else text.rfind("#EXT-X-PART:")
    newest = -1
    if last >= 0:
        match = _PART_INDEX.search(text, last)
        newest = int(match[1]) if match else -1
    init = _MAP.search(text)
    return Playlist(msn, next_part, newest, init[1] if init else None,
                    "CAN-SKIP-UNTIL=" in text)


def _number_after(text: str, prefix: str) -> int:
    start = text.find(prefix)
    if start < 0:
        return 0
    start += len(prefix)
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return int(text[start:end])


class Crowd:
    """The viewers of one generator process: where they watch and what they saw."""

    def __init__(self, playlist_url: str) -> None:
        parsed = urlsplit(playlist_url)
        assert parsed.hostname is not None and parsed.port is not None
        self.host, self.port = parsed.hostname, parsed.port
        self.playlist_path = parsed.path
        self.base = parsed.path.rsplit("/", 1)[0] + "/"
        self.deliveries: dict[int, list[float]] = defaultdict(list)
        self.requests = 0
        self.errors = 0
        self.first_errors: list[str] = []

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(what)


class Connections:
    """One viewer's keep-alive connections, as a browser keeps several per host: a request takes
    an idle one or opens another, so the blocking reload and the part fetches never queue."""

    def __init__(self, crowd: Crowd) -> None:
        self._crowd = crowd
        self._idle: list[Http1Connection] = []
        self._all: list[Http1Connection] = []

    async def get(self, target: str, *, text: bool) -> str | bool:
        """A playlist's text (``text``) or ``True`` once a media body was read; ``False`` after
        an error, which is counted and followed by a short pause, never a tight loop."""
        crowd = self._crowd
        try:
            connection = self._idle.pop() if self._idle else await self._open()
            status, body = await connection.get(target)
            self._idle.append(connection)
            crowd.requests += 1
            if status == 200:
                return body.decode() if text else True
            crowd.error(f"HTTP {status} {target}")
        except (HttpError, OSError) as exc:
            crowd.error(f"{type(exc).__name__} {target}")
        await asyncio.sleep(0.1)
        return False

    async def _open(self) -> Http1Connection:
        connection = await Http1Connection.open(self._crowd.host, self._crowd.port)
        self._all.append(connection)
        return connection

    def close(self) -> None:
        for connection in self._all:
            connection.close()


class Viewer:
    """One player: the tune-in, then the blocking-reload loop with a part fetch per new part."""

    def __init__(self, crowd: Crowd) -> None:
        self.crowd = crowd
        self._http = Connections(crowd)
        self._newest_requested = -1
        self._fetches: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        try:
            while True:
                playlist: Playlist | None = await self._tune_in()
                while playlist is not None:
                    self._fetch_new(playlist)
                    target = (f"{self.crowd.playlist_path}?_HLS_msn={playlist.next_msn}"
                              f"&_HLS_part={playlist.next_part}")
                    if playlist.can_skip:
                        target += "&_HLS_skip=YES"
                    text = await self._http.get(target, text=True)
                    playlist = parse_playlist(text) if isinstance(text, str) else None
        finally:
            for task in self._fetches:
                task.cancel()
            self._http.close()

    async def _tune_in(self) -> Playlist:
        """Plain reloads until a playlist with parts arrives; the init segment once. The viewer
        joins at the live edge: parts from the hinted one on are its own."""
        while True:
            text = await self._http.get(self.crowd.playlist_path, text=True)
            if isinstance(text, str):
                playlist = parse_playlist(text)
                if playlist.newest_part >= 0:
                    if self._newest_requested < 0 and playlist.init_uri:
                        await self._http.get(self.crowd.base + playlist.init_uri, text=False)
                    self._newest_requested = max(self._newest_requested, playlist.newest_part - 1)
                    return playlist
            await asyncio.sleep(0.2)

    def _fetch_new(self, playlist: Playlist) -> None:
        for index in range(self._newest_requested + 1, playlist.newest_part + 1):
            task = asyncio.ensure_future(self._part(index))
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)
        self._newest_requested = max(self._newest_requested, playlist.newest_part)

    async def _part(self, index: int) -> None:
        if await self._http.get(f"{self.crowd.base}part{index}.m4s", text=False):
            self.crowd.deliveries[index].append(time.monotonic())


async def _sleep_until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.monotonic()))


async def _sample_loop_lag(lags: list[tuple[float, float]], window: tuple[float, float]) -> None:
    """(when, how late) the event loop ran a callback that was due, every 10 ms in the window: a
    response that arrives while the loop is busy with others is stamped that much late, so a
    lag close to a latency figure means the generator, not the server, set it."""
    await _sleep_until(window[0])
    while True:
        due = time.monotonic() + LAG_TICK
        await asyncio.sleep(LAG_TICK)
        now = time.monotonic()
        if now > window[1]:
            return
        lags.append((now, now - due))


async def generate(url: str, viewers: int, join_at: float, ramp: float,
                   window: tuple[float, float], stop_at: float) -> dict[str, object]:
    # No client timeouts (their timers cost the generator): a request that never completes is
    # cancelled at the stop and shows as a part missing.
    crowd = Crowd(url)
    lags: list[tuple[float, float]] = []
    tasks = [asyncio.ensure_future(_sample_loop_lag(lags, window))]
    for i in range(viewers):
        await _sleep_until(join_at + ramp * i / max(1, viewers))
        tasks.append(asyncio.ensure_future(Viewer(crowd).run()))
    late_join = time.monotonic() - (join_at + ramp)
    await _sleep_until(window[0])
    requests, errors = crowd.requests, crowd.errors
    await _sleep_until(window[1])
    window_requests, window_errors = crowd.requests - requests, crowd.errors - errors
    await _sleep_until(stop_at)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "deliveries": crowd.deliveries,
        "window_requests": window_requests,
        "window_errors": window_errors,
        "first_errors": crowd.first_errors,
        "late_join": late_join,
        "loop_lag": lags,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the media playlist")
    parser.add_argument("--viewers", type=int, required=True)
    parser.add_argument("--join-at", type=float, required=True, help="CLOCK_MONOTONIC seconds")
    parser.add_argument("--ramp", type=float, default=2.0, help="viewers join over this many seconds")
    parser.add_argument("--window-start", type=float, required=True)
    parser.add_argument("--window-end", type=float, required=True)
    parser.add_argument("--stop-at", type=float, required=True)
    parser.add_argument("--out", required=True, help="JSON: deliveries, requests, errors, loop lag")
    args = parser.parse_args()
    # The benchmark runs the origin and its publication probe at a raised priority so load
    # generation on the same core does not delay them; a generator runs at normal priority.
    os.setpriority(os.PRIO_PROCESS, 0, max(0, os.getpriority(os.PRIO_PROCESS, 0)))
    result = uvloop.run(generate(args.url, args.viewers, args.join_at, args.ramp,
                                 (args.window_start, args.window_end), args.stop_at))
    with open(args.out, "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
