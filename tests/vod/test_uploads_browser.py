"""tus-js-client in headless Chromium uploads to a real node from a page on another origin (so CORS
is tested as a browser applies it), paused halfway through a chunk and resumed."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.support.api_client import Api
from tests.support.browser import chromium
from tests.support.uploads import MIB, upload_node, wait_for
from vod.storage import LocalStorage
from vod.uploads import source_key

TUS_JS = Path(__file__).parents[2] / "web" / "node_modules" / "tus-js-client" / "dist" / "tus.min.js"

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>tus-js-client</title>
<script src="/tus.min.js"></script>
<script>
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

// Uploads `size` random bytes; aborts once `pauseAt` bytes are sent (mid-chunk) and starts again.
window.upload = async ({ endpoint, token, size, pauseAt }) => {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, size)));
  }
  const report = { digest: hex(await crypto.subtle.digest("SHA-256", bytes)), pausedAt: null,
                   resumedFrom: null, videoId: null, url: null };
  return new Promise((resolve, reject) => {
    let paused = false;
    const upload = new tus.Upload(new Blob([bytes], { type: "video/mp4" }), {
      endpoint,
      headers: { Authorization: `Bearer ${token}` },
      chunkSize: 512 * 1024,
      retryDelays: [0, 500, 1000],
      metadata: { title: "From a browser", filename: "browser.mp4", filetype: "video/mp4" },
      onAfterResponse: (request, response) => {
        report.videoId = response.getHeader("Tributary-Video-Id") || report.videoId;
        if (paused && request.getMethod() === "HEAD" && report.resumedFrom === null) {
          report.resumedFrom = Number(response.getHeader("Upload-Offset"));
        }
      },
      onProgress: (sent) => {
        if (!paused && sent >= pauseAt) {
          paused = true;
          report.pausedAt = sent;
          upload.abort().then(() => setTimeout(() => upload.start(), 300));
        }
      },
      onError: (error) => reject(String(error)),
      onSuccess: () => { report.url = upload.url; resolve(report); },
    });
    upload.start();
  });
};
</script>
"""


@pytest.fixture
async def page_origin() -> AsyncIterator[str]:
    """A page server of its own: the upload crosses origins, as from a site in front of the API."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def client(request: web.Request) -> web.FileResponse:
        return web.FileResponse(TUS_JS)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/tus.min.js", client)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_tus_js_client_pauses_and_resumes_from_another_origin(services, tmp_path, page_origin):
    assert TUS_JS.is_file(), "tus-js-client is installed by the set-up command (npm ci --prefix web)"
    async with upload_node(services, tmp_path / "node") as node, aiohttp.ClientSession() as session, \
            chromium() as browser:
        api = Api(session, node.api, node)
        creator = await api.register(creator=True)
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(page_origin)
        size = 3 * MIB + 1234
        report = await page.evaluate(
            "args => window.upload(args)",
            {"endpoint": f"{node.api}/uploads", "token": creator.access, "size": size, "pauseAt": MIB + 100_000},
        )
        assert errors == []
        assert report["url"].startswith(f"{node.api}/uploads/")
        assert 0 < report["resumedFrom"] <= report["pausedAt"] < size, report
        video_id = report["videoId"]

        async def processing() -> bool:
            return (await api.call("GET", f"/videos/{video_id}", account=creator)).body["status"] == "processing"

        await wait_for(processing, what="the browser's upload to be handed on")
        stored = await LocalStorage(node.node.settings.data_dir / "storage").get(source_key(video_id))
        assert (len(stored), hashlib.sha256(stored).hexdigest()) == (size, report["digest"])
        video = await api.call("GET", f"/videos/{video_id}", account=creator)
        assert video.body["title"] == "From a browser"
