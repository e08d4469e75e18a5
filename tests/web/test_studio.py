"""The creator studio in Chromium: who may use it, live streams (RTMP URL, stream key revealed,
copied and rotated, WHIP URL, going live from the browser with the studio's link), uploads with
tus-js-client (progress, pause and resume, automatic retries and the Retry button, a token
refreshed on 401, continuing after a reload), processing followed to ready or to its failure
reason, and editing and deleting a video."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import Browser, CDPSession, Page, Route, async_playwright, expect

from catalog.videos import Privacy, Status
from tests.support.api_client import Account, Api
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.ffmpeg import Source, make_file, publish
from tests.support.social import make_video
from tests.support.web_ui import choose_and_upload, upload_percent

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
TINY = Source(seconds=3, width=320, height=180, fps=15, gop=30, realtime=False)
PROCESSING_TIMEOUT = 120_000  # ms: a 3 s file on a busy 2-core machine


@asynccontextmanager
async def camera_browser() -> AsyncIterator[Browser]:
    """Chromium with its synthetic camera and microphone, for the publish page."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(),
                                                   args=[*CHROMIUM_ARGS, *FAKE_MEDIA])
        try:
            yield browser
        finally:
            await browser.close()


async def throttle_uploads(page: Page, bytes_per_second: int) -> CDPSession:
    """Chromium's network emulation: request bodies leave at this rate (``lift`` ends it)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second})
    return cdp


async def lift(cdp: CDPSession) -> None:
    await cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


async def channel_videos(api: Api, owner: Account) -> list[dict[str, Any]]:
    got = await api.call("GET", f"/channels/{owner.channel}/videos", account=owner)
    assert got.status == 200, got.body
    return got.body["items"]


async def test_studio_needs_a_creator(api, person):
    """Signed out: a way to sign in. A viewer account: why there is no studio, and that the
    API cannot turn it into a creator account."""
    page = await person()
    await page.goto("/studio")
    await expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_have_attribute(
        "href", "/signin?next=%2Fstudio")

    viewer = await person(await api.register())
    await viewer.goto("/studio/upload")
    main = viewer.get_by_role("main")
    await expect(main.get_by_role("heading", name="You need a creator account")).to_be_visible()
    await expect(main).to_contain_text("an existing account cannot be given one")
    await expect(main.get_by_role("link", name="Sign up as a creator")).to_be_visible()
    await expect(viewer.locator("#uploader")).to_be_hidden()


async def test_live_stream_keys_and_going_live(api, person, screenshot, web_node):
    """A stream made in the studio shows its RTMP URL, hidden key (revealed and copied) and WHIP
    URL; rotating makes a new key (the old one is refused over RTMP), and the studio's "go live"
    link publishes from a browser camera with it. After a reload the key is hidden for good."""
    creator = await api.register(creator=True)
    await make_video(api, creator, "Still processing", status=Status.PROCESSING)
    failed = await make_video(api, creator, "Broken upload", status=Status.FAILED)
    await api.node.node.pool.execute(
        "UPDATE videos SET failure_reason = 'this is a PNG image, not a video' WHERE public_id = $1", failed)
    await make_video(api, creator, "Ready to watch", privacy=Privacy.UNLISTED, duration=75)
    page = await person(creator)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto("/studio")
    await expect(page.get_by_text("No live streams yet")).to_be_visible()

    name = f"s{uuid.uuid4().hex[:10]}"
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Title").fill("Studio session")
    await page.get_by_role("button", name="Create stream").click()
    card = page.locator(f"[data-stream='{name}']")
    await expect(card.get_by_role("heading", name="Studio session")).to_be_visible()
    await expect(card.get_by_label("RTMP URL", exact=True)).to_have_value(web_node.rtmp)
    await expect(card.get_by_label("WHIP URL", exact=True)).to_have_value(f"{web_node.http}/whip/{name}")
    key_field = card.get_by_label("Stream key", exact=True)
    await expect(key_field).to_have_attribute("type", "password")
    await card.get_by_role("button", name="Reveal").click()
    await expect(key_field).to_have_attribute("type", "text")
    first_key = await key_field.input_value()
    assert len(first_key) > 16
    await card.get_by_role("button", name="Hide").click()
    await expect(key_field).to_have_attribute("type", "password")
    await card.locator(".stream-key").get_by_role("button", name="Copy").click()
    await expect(page.locator("#notices")).to_contain_text("Stream key copied.")
    assert await page.evaluate("navigator.clipboard.readText()") == first_key

    rows = page.locator(".video-row")
    await expect(rows).to_have_count(3)
    await expect(page.locator(f"[data-video='{failed}']")).to_contain_text("this is a PNG image, not a video")
    await expect(page.locator("[data-status='processing'] progress")).to_be_visible()
    await page.evaluate("document.getElementById('notices').replaceChildren(); window.scrollTo(0, 0)")
    await screenshot(page, "studio")

    await card.get_by_role("button", name="Rotate key").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("The new key is shown once")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await card.get_by_role("button", name="Rotate key").click()
    await page.get_by_role("dialog").get_by_role("button", name="Rotate key").click()
    await expect(page.locator("#notices")).to_contain_text("shown only while this page is open")
    await expect(card.get_by_label("Stream key", exact=True)).not_to_have_value(first_key)
    new_key = await card.get_by_label("Stream key", exact=True).input_value()
    assert new_key and new_key != first_key

    code, _ = await publish(f"{web_node.rtmp}/{first_key}", Source(seconds=1, realtime=False), timeout=30)
    assert code != 0, "the rotated-out key is refused"

    go_live = card.get_by_role("link", name="Go live from this browser")
    href = await go_live.get_attribute("href")
    assert href == f"/publish?stream={name}#key={new_key}"
    async with camera_browser() as browser:
        publisher = await browser.new_page(base_url=web_node.http)
        problems: list[str] = []
        publisher.on("pageerror", lambda exc: problems.append(str(exc)))
        await publisher.goto(href)
        assert publisher.url == f"{web_node.http}/publish?stream={name}", "the key left the address bar"
        await expect(publisher.get_by_label("Stream key", exact=True)).to_have_value(new_key)
        await expect(publisher.get_by_role("heading", name=f"Go live: {name}")).to_be_visible()
        await publisher.get_by_role("button", name="Start").click()
        await publisher.wait_for_function("window.tributary.phase === 'live'", timeout=30_000)
        await expect(publisher.locator("#live-badge")).to_be_visible()
        await screenshot(publisher, "publish")
        await publisher.get_by_role("button", name="Stop").click()
        await publisher.wait_for_function("window.tributary.phase === 'idle'", timeout=5_000)
        assert await publisher.evaluate("window.tributary.errors") == []
        assert problems == []

    await page.reload()
    card = page.locator(f"[data-stream='{name}']")
    await expect(card.locator(".hidden-key")).to_contain_text("a key is shown only when it is made")
    await expect(card.get_by_label("Stream key", exact=True)).to_have_count(0)
    await expect(card.get_by_label("RTMP URL", exact=True)).to_have_value(web_node.rtmp)


async def test_studio_on_a_phone(api, person, screenshot):
    """The studio fits a phone's width: no sideways scrolling, stream fields one per line."""
    creator = await api.register(creator=True)
    await api.call("POST", "/live-streams", json={"name": f"p{uuid.uuid4().hex[:10]}", "title": "Phone"},
                   account=creator)
    await make_video(api, creator, "A video with a rather long title that has to wrap on a phone")
    page = await person(creator, phone=True)
    await page.goto("/studio")
    await expect(page.locator(".video-row")).to_have_count(1)
    await expect(page.locator(".stream .hidden-key")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(page, "studio-phone")


async def test_upload_pause_resume_process_and_edit(api, person, screenshot, tmp_path):
    """A real file goes up with progress and speed, pauses (nothing more is sent) and resumes,
    is processed to ready with the progress shown, then its details are edited and persist."""
    creator = await api.register(creator=True)
    path = tmp_path / "holiday.mp4"
    await make_file(path, TINY)
    size = path.stat().st_size
    page = await person(creator)
    await page.goto("/studio/upload")
    await throttle_uploads(page, max(size // 5, 10_000))  # about five seconds
    await choose_and_upload(page, path, privacy="public")
    await expect(page.get_by_role("heading", name="Uploading holiday.mp4")).to_be_visible()
    await page.wait_for_function("document.getElementById('upload-progress').value >= 15")
    await expect(page.locator("#upload-numbers")).to_contain_text(re.compile(r"\d+% · .* of .* · .*/s"))
    await screenshot(page, "studio-upload")

    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("#upload-state")).to_contain_text("Paused")
    paused_at = await upload_percent(page)
    assert paused_at < 100
    await page.wait_for_timeout(1500)
    assert await upload_percent(page) == paused_at, "nothing is sent while paused"
    await page.get_by_role("button", name="Resume").click()
    await expect(page.locator("#upload-state")).to_have_text("Uploaded.", timeout=30_000)

    processing = page.locator("#processing")
    await expect(processing).to_be_visible()
    await expect(processing.get_by_text("Your video is ready.")).to_be_visible(timeout=PROCESSING_TIMEOUT)
    watch = processing.get_by_role("link", name="Watch it")
    video_id = (await watch.get_attribute("href")).removeprefix("/v/")
    videos = await channel_videos(api, creator)
    assert [(v["id"], v["title"], v["status"], v["privacy"]) for v in videos] == [
        (video_id, "holiday", "ready", "public")]

    await processing.get_by_role("link", name="Edit its details").click()
    await page.wait_for_url(f"**/studio/videos/{video_id}")
    await expect(page.locator("#video-status")).to_contain_text("Ready")
    choices = page.locator(".thumb-choice")
    await expect(choices.first).to_be_visible()
    assert await choices.count() >= 2
    await page.get_by_label("Title").fill("Holiday in the hills")
    await page.get_by_label("Description").fill("Three seconds of\nsunshine.")
    await page.get_by_label("Tags").fill("holiday, hills ,  , sun")
    await page.get_by_label("Privacy").select_option("unlisted")
    await choices.nth(1).click()
    chosen = int(await choices.nth(1).locator("input").get_attribute("value"))
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#notices")).to_contain_text("Saved.")
    await expect(page.get_by_role("heading", name="Edit “Holiday in the hills”")).to_be_visible()
    # An unlisted video's pictures need a playback token: they still show after the change.
    await page.wait_for_function(
        "[...document.querySelectorAll('.thumb-choice img')].every(i => i.complete && i.naturalWidth > 0)")
    await page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays at the top of the picture
    await screenshot(page, "studio-video-edit")

    got = await api.call("GET", f"/videos/{video_id}", account=creator)
    assert (got.body["title"], got.body["description"], got.body["tags"], got.body["privacy"]) == (
        "Holiday in the hills", "Three seconds of\nsunshine.", ["holiday", "hills", "sun"], "unlisted")
    thumbnails = await api.call("GET", f"/videos/{video_id}/thumbnails", account=creator)
    assert [t["id"] for t in thumbnails.body if t["chosen"] and t["kind"] == "thumbnail"] == [chosen]

    await page.reload()
    await expect(page.get_by_label("Tags")).to_have_value("holiday, hills, sun")
    await expect(page.get_by_label("Privacy")).to_have_value("unlisted")
    await expect(page.locator(".thumb-choice input:checked")).to_have_value(str(chosen))


async def test_upload_retries_and_refreshes_the_token(api, person, tmp_path):
    """An expired access token is refreshed on 401; a dropped connection is retried by itself;
    a refusal stops the upload with the server's words and a Retry button that goes on."""
    creator = await api.register(creator=True)
    path = tmp_path / "notes.txt"
    path.write_text("These are my notes, not a video.\n" * 2000)
    page = await person(creator)
    await page.goto("/studio/upload")
    await expect(page.get_by_label("Video file")).to_be_visible()
    await page.evaluate("""() => {
        const session = JSON.parse(localStorage.getItem('tributary.session'));
        localStorage.setItem('tributary.session', JSON.stringify({...session, access: 'expired'}));
    }""")
    patches: list[str] = []

    async def flaky(route: Route) -> None:
        if route.request.method != "PATCH":
            await route.continue_()
            return
        patches.append(route.request.method)
        if len(patches) == 1:
            await route.abort("connectionreset")
        elif len(patches) == 2:
            await route.fulfill(status=400, content_type="application/json",
                                body='{"error": "body_incomplete", "detail": "the body ended early"}')
        else:
            await route.continue_()

    await page.route("**/api/v1/uploads/*", flaky)
    await choose_and_upload(page, path, title="My notes")
    retry = page.get_by_role("button", name="Retry")
    await expect(retry).to_be_visible()
    await expect(page.locator("#upload-state")).to_have_text("The upload stopped: the body ended early.")
    assert len(patches) == 2, "the dropped connection was retried without asking"
    await retry.click()
    await expect(page.locator("#upload-state")).to_have_text("Uploaded.")
    assert len(patches) == 3
    session = await page.evaluate("JSON.parse(localStorage.getItem('tributary.session'))")
    assert session["access"] != "expired", "the token was refreshed"
    await expect(page.locator("#processing .video-status")).to_contain_text(
        "this is a text file, not a video", timeout=60_000)
    assert len(await channel_videos(api, creator)) == 1


async def test_an_upload_refused_at_the_start_goes_back_to_the_form(api, person, tmp_path):
    """A refusal of the upload itself (here: too large) is said next to the form, which stays
    filled in for another try; an empty file is refused before anything is sent."""
    creator = await api.register(creator=True)
    page = await person(creator)
    await page.goto("/studio/upload")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    await choose_and_upload(page, empty, title="Nothing")
    await expect(page.get_by_role("alert")).to_have_text("This file is empty: it is not a video.")

    async def too_large(route: Route) -> None:
        body = '{"error": "upload_too_large", "detail": "uploads may be 1000 bytes at most"}'
        await route.fulfill(status=413, content_type="application/json", body=body,
                            headers={"Tus-Resumable": "1.0.0"})

    await page.route("**/api/v1/uploads", too_large)
    path = tmp_path / "big.mp4"
    path.write_bytes(b"big" * 1000)
    await choose_and_upload(page, path, title="Too big")
    await expect(page.get_by_role("alert")).to_have_text(
        "The upload was refused: uploads may be 1000 bytes at most.")
    await expect(page.get_by_label("Title")).to_have_value("Too big")
    await expect(page.locator("#transfer")).to_be_hidden()
    assert await channel_videos(api, creator) == []


async def test_upload_continues_after_a_reload_and_shows_why_processing_failed(api, person, tmp_path):
    """Reloading mid-upload loses nothing: the page lists the unfinished upload, the same file
    chosen again goes on from where it stopped (one video, not two), and a file that is not a
    video fails processing with the reason shown, also in the studio's list."""
    creator = await api.register(creator=True)
    path = tmp_path / "not-a-video.mp4"
    path.write_bytes(b"\x00\x01garbage" * 40_000)
    page = await person(creator)
    await page.goto("/studio/upload")
    throttled = await throttle_uploads(page, 60_000)
    await choose_and_upload(page, path, title="Mystery file", privacy="unlisted")
    await page.wait_for_function("document.getElementById('upload-progress').value >= 20")
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("#upload-state")).to_contain_text("Paused")

    await page.reload()
    unfinished = page.locator("#unfinished")
    await expect(unfinished).to_contain_text("“Mystery file” (not-a-video.mp4")
    await page.get_by_label("Video file").set_input_files(str(path))
    await expect(page.locator("#resume-note")).to_be_visible()
    await expect(page.get_by_label("Title")).to_have_value("Mystery file")
    await expect(page.get_by_label("Privacy")).to_have_value("unlisted")
    await lift(throttled)
    await page.get_by_role("button", name="Upload", exact=True).click()
    await expect(page.locator("#upload-state")).to_have_text("Uploaded.")
    failed = page.locator("#processing .video-status")
    await expect(failed).to_contain_text("Failed", timeout=60_000)
    reason = (await failed.locator(".status-detail").text_content()).strip()
    assert "not in a video format we recognise" in reason, reason
    await expect(page.locator("#processing-result")).to_contain_text("could not be made into a video")

    videos = await channel_videos(api, creator)
    assert [(v["title"], v["status"], v["privacy"]) for v in videos] == [
        ("Mystery file", "failed", "unlisted")]
    await page.goto("/studio")
    await expect(page.locator(f"[data-video='{videos[0]['id']}']")).to_contain_text(reason)
    await page.goto("/studio/upload")
    await expect(page.get_by_label("Video file")).to_be_visible()
    await expect(page.locator("#unfinished")).to_be_hidden()


async def test_discard_an_unfinished_upload_on_a_phone(api, person, tmp_path, screenshot):
    """An upload left unfinished is listed after a reload; Discard ends it with its video."""
    creator = await api.register(creator=True)
    path = tmp_path / "draft.mp4"
    path.write_bytes(b"draft" * 60_000)
    page = await person(creator, phone=True)
    await page.goto("/studio/upload")
    await throttle_uploads(page, 30_000)
    await choose_and_upload(page, path, title="Draft")
    await page.wait_for_function("document.getElementById('upload-progress').value >= 10")
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("#upload-state")).to_contain_text("Paused")
    assert [v["status"] for v in await channel_videos(api, creator)] == ["uploading"]
    await page.reload()
    unfinished = page.locator("#unfinished")
    await expect(unfinished).to_contain_text("“Draft” (draft.mp4, 300.0 KB)")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(page, "studio-upload-phone")
    await unfinished.get_by_role("button", name="Discard").click()
    await expect(unfinished).to_be_hidden()
    assert await channel_videos(api, creator) == []
    assert await page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::'))") == []


async def test_delete_a_video_after_confirming(api, person):
    """Delete asks first (Cancel keeps the video), then removes it and returns to the studio;
    someone else's video cannot be edited."""
    creator = await api.register(creator=True)
    video = await make_video(api, creator, "Out-take", status=Status.PROCESSING)
    page = await person(creator)
    await page.goto(f"/studio/videos/{video}")
    await expect(page.locator("#thumbnails")).to_contain_text(
        "Thumbnails appear here when processing is done")
    await page.get_by_role("button", name="Delete video").click()
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert (await api.call("GET", f"/videos/{video}", account=creator)).status == 200
    await page.get_by_role("button", name="Delete video").click()
    await expect(page.get_by_role("dialog")).to_contain_text("Delete “Out-take”?")
    await page.get_by_role("dialog").get_by_role("button", name="Delete video").click()
    await page.wait_for_url("**/studio")
    assert (await api.call("GET", f"/videos/{video}", account=creator)).status == 404

    other = await api.register(creator=True)
    theirs = await make_video(api, other, "Not mine")
    await page.goto(f"/studio/videos/{theirs}")
    await expect(page.get_by_role("heading", name="This is not your video")).to_be_visible()
