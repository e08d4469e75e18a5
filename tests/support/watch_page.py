"""The node's own watch page (``/watch/{stream}``: hls.js in low-latency mode, ``web/static/
js/live/player.js``) playing a source somewhere else, such as an edge.

The page is the product's player, not a test double: the node serves its HTML and scripts
unchanged; a script the browser runs first only swaps the ``data-src`` the page plays (its own
``/live/{stream}/master.m3u8``) for an absolute URL, when parsing ends (``readyState`` becomes
``interactive``: after the ``<video>`` exists, before the page's module script runs). The page
is not rewritten in flight (``route.fulfill``): Chromium then no longer knows it came from a
loopback address and refuses its requests to other loopback ports (Local Network Access).
The edge answers with CORS, so hls.js fetches from it as it would from any CDN host. Every
request the page sends to the source's host is recorded, and every answer with its ``X-Cache``,
so a test can tell which edge served what and how often it was asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, Request, Response

VIDEO_TIME = "document.querySelector('video').currentTime"
SWAP_SOURCE = """
document.addEventListener("readystatechange", () => {
  if (document.readyState === "interactive") document.getElementById("player").dataset.src = %s;
});
"""


@dataclass(frozen=True)
class Served:
    url: str
    status: int
    x_cache: str | None


@dataclass
class Viewer:
    page: Page
    source: str
    requested: list[str] = field(default_factory=list)
    """URLs of the requests sent to the source's host (answered or not)."""
    served: list[Served] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    async def current_time(self) -> float:
        return float(await self.page.evaluate(VIDEO_TIME))

    async def wait_time(self, seconds: float, timeout: float) -> float:
        """Wait until the video's currentTime passes ``seconds``; returns it."""
        await self.page.wait_for_function(
            f"() => {VIDEO_TIME} > {seconds}", timeout=timeout * 1000, polling=200
        )
        return await self.current_time()

    async def fatal_errors(self) -> list[str]:
        """hls.js errors the page saw as fatal (player.js records them, then recovers)."""
        return list(await self.page.evaluate("window.tributary.fatalErrors"))


async def watch(context: BrowserContext, node_http: str, stream: str, source: str) -> Viewer:
    """Open ``node_http``'s watch page for ``stream`` in a new page, playing ``source``."""
    page = await context.new_page()
    viewer = Viewer(page, source)
    source_host = urlsplit(source).netloc
    await page.add_init_script(SWAP_SOURCE % json.dumps(source))

    def sent(request: Request) -> None:
        if urlsplit(request.url).netloc == source_host:
            viewer.requested.append(request.url)

    def answered(response: Response) -> None:
        if urlsplit(response.url).netloc == source_host:
            x_cache = response.headers.get("x-cache")
            viewer.served.append(Served(response.url, response.status, x_cache))

    page.on("pageerror", lambda exc: viewer.page_errors.append(str(exc)))
    page.on("request", sent)
    page.on("response", answered)
    await page.goto(f"{node_http}/watch/{stream}")
    swapped = await page.evaluate("document.getElementById('player').dataset.src")
    assert swapped == source, f"the watch page plays {swapped}, not {source}"
    return viewer
