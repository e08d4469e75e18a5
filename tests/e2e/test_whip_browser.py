"""A browser publishes from the /publish page over WHIP; another page watches it over LL-HLS."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, async_playwright

from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.nodes import node_factory

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@asynccontextmanager
async def chromium_with_fake_camera() -> AsyncIterator[Browser]:
    """Debian's Chromium with its synthetic camera (a moving pattern) and microphone (beeps)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=[*CHROMIUM_ARGS, *FAKE_MEDIA]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def test_publish_page_to_watch_page(services, tmp_path):
    async with node_factory(services, tmp_path) as start, chromium_with_fake_camera() as browser:
        node = await start()
        name, key = await node.new_stream()
        publisher = await browser.new_page()
        errors: list[str] = []
        publisher.on("pageerror", lambda exc: errors.append(str(exc)))
        await publisher.goto(f"{node.http}/publish")
        await publisher.fill("#key", key)
        await publisher.wait_for_selector("#start:not([disabled])", timeout=10_000)
        await publisher.click("#start")
        await publisher.wait_for_function("window.tributary.phase === 'live'", timeout=20_000)
        h264 = await publisher.evaluate(
            "RTCRtpSender.getCapabilities('video').codecs.some(c => c.mimeType === 'video/H264')"
        )
        sent = await publisher.evaluate("window.tributary.videoCodec")
        assert sent == ("H264" if h264 else "VP8"), "H.264 is preferred when the browser has it"
        assert node.node.whip.session_count == 1

        viewer = await browser.new_page()
        viewer.on("pageerror", lambda exc: errors.append(str(exc)))
        await viewer.goto(f"{node.http}/watch/{name}")
        await viewer.wait_for_function(
            "() => document.querySelector('video').currentTime > 0.5", timeout=30_000
        )
        position = await viewer.evaluate("document.querySelector('video').currentTime")
        await viewer.wait_for_function(
            f"() => document.querySelector('video').currentTime > {position + 3}", timeout=20_000
        )
        assert await viewer.evaluate("window.tributary.fatalErrors") == []
        (tmp_path / "publisher.png").write_bytes(await publisher.screenshot())
        (tmp_path / "viewer.png").write_bytes(await viewer.screenshot())

        await publisher.click("#stop")
        await publisher.wait_for_function("window.tributary.phase === 'idle'", timeout=5_000)
        deadline = time.monotonic() + 5
        while node.node.whip.session_count and time.monotonic() < deadline:
            await viewer.wait_for_timeout(50)
        assert node.node.whip.session_count == 0, "Stop sent DELETE"
        assert await publisher.evaluate("window.tributary.errors") == []
        assert errors == []
