"""A viewer's browser: the watch page plays the live stream with hls.js in low-latency mode."""

from __future__ import annotations

import aiohttp

from tests.support.browser import chromium
from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import wait_playlist
from tests.support.nodes import node_factory


async def test_watch_page_plays_live_stream(services, tmp_path):
    async with node_factory(services, tmp_path) as start:
        node = await start()
        name, key = await node.new_stream()
        pusher = await start_publish(f"{node.rtmp}/{key}", Source(seconds=40))
        try:
            async with aiohttp.ClientSession() as http:
                await wait_playlist(http, node.playlist_url(name))
            async with chromium() as browser:
                page = await browser.new_page()
                page_errors: list[str] = []
                page.on("pageerror", lambda exc: page_errors.append(str(exc)))
                await page.goto(f"{node.http}/watch/{name}")
                await page.wait_for_function(
                    "() => document.querySelector('video').currentTime > 0.5", timeout=20_000
                )
                start_time = await page.evaluate("document.querySelector('video').currentTime")
                await page.wait_for_function(
                    f"() => document.querySelector('video').currentTime > {start_time + 5}",
                    timeout=20_000,
                )
                fatal = await page.evaluate("window.tributary.fatalErrors")
                latencies = await page.evaluate("window.tributary.latencySamples")
                readout = await page.text_content("#latency")
                (tmp_path / "watch.png").write_bytes(await page.screenshot())
                assert fatal == [], fatal
                assert page_errors == [], page_errors
                assert latencies and all(0 < x < 10 for x in latencies), latencies
                assert readout and readout.startswith("latency ")
        finally:
            pusher.kill()
            await pusher.wait()
