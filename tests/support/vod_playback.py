"""A VOD played to its end by hls.js in headless Chromium, from a page of another origin (so
CORS is exercised as an embedding site would): the replay, edge and transcode tests' player."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.browser import chromium
from tests.support.nodes import RunningNode


@dataclass(frozen=True)
class Played:
    """What hls.js listed and the browser showed."""

    levels: list[tuple[int, int]]
    """(width, height) of every level (video variant), as hls.js lists them."""
    audio_tracks: int
    picture: tuple[int, int]
    """The video element's videoWidth x videoHeight at the end."""


async def plays_to_the_end(node: RunningNode, url: str, duration: float) -> Played:
    """hls.js plays the VOD from a page of another origin (CORS) until the video ends."""
    async with chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.set_content(
            f'<video muted playsinline></video><script src="{node.http}/static/vendor/hls.min.js"></script>'
        )
        await page.evaluate(
            """url => {
                window.fatal = [];
                const video = document.querySelector('video');
                const hls = window.hls = new Hls();
                hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) window.fatal.push(data.details); });
                hls.loadSource(url);
                hls.attachMedia(video);
                video.playbackRate = 2;
                video.play();
            }""",
            url,
        )
        await page.wait_for_function("() => document.querySelector('video').ended", timeout=30_000)
        played = await page.evaluate("document.querySelector('video').currentTime")
        assert await page.evaluate("window.fatal") == []
        assert errors == []
        assert played == pytest.approx(duration, abs=0.5)
        seen = await page.evaluate(
            """() => ({levels: hls.levels.map(l => [l.width, l.height]),
                       audio: hls.audioTracks.length,
                       picture: [document.querySelector('video').videoWidth,
                                 document.querySelector('video').videoHeight]})"""
        )
        return Played([tuple(level) for level in seen["levels"]], seen["audio"], tuple(seen["picture"]))
