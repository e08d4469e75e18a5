"""The VOD watch page (/v/{video}) in headless Chromium against a real node, with a video that
really plays: transcoded from a 20 s upload into 360p and 240p, with a storyboard.

What a viewer can see and do there: it plays, the quality menu switches renditions, seek
previews show storyboard tiles, a view counts after ten seconds of watching, playback resumes
where it stopped (signed in: watch history; signed out: this browser) and from a shared ?t=,
like/dislike and subscribe toggle, comments arrive live and render as text, timestamps seek,
and videos nobody may see, or that are not ready, say so."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import m3u8
import pytest
from playwright.async_api import expect

from catalog.videos import Privacy, Status, Videos
from tests.support.api_client import Api
from tests.support.playable_videos import transcode, transcoded_video, upload_source
from tests.support.recorded_videos import get
from tests.support.social import make_video
from tests.support.videos import publish
from tests.support.web_ui import PLAYER_TIME, open_video, wait_time

SECONDS = 20
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script> & "quotes"'


@dataclass(frozen=True)
class Watchable:
    video_id: str
    tag: str
    related: list[str]


@pytest.fixture(scope="module")
async def watchable(web_node, tmp_path_factory) -> AsyncIterator[Watchable]:
    """One transcoded public video for the whole module (transcoding takes a while), tagged
    with a tag of its own, and two published videos sharing it: the related ones."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        api = Api(session, web_node.api, web_node)
        owner = await api.register(creator=True)
        video_id = await transcoded_video(api, owner, tmp_path_factory.mktemp("watchable"),
                                          seconds=SECONDS, title="Test pattern with a tone")
        tag = f"t{uuid.uuid4().hex[:10]}"
        got = await api.call("PATCH", f"/videos/{video_id}", account=owner, json={
            "tags": [tag, "testsrc"],
            "description": "Twenty seconds of ffmpeg's testsrc2.\nA sine at 440 Hz underneath.",
        })
        assert got.status == 200, got.body
        related = [await publish(api, owner, f"Related clip {n}", tags=[tag], duration=30 + n) for n in (1, 2)]
        yield Watchable(video_id, tag, related)


async def test_a_video_plays_switches_quality_previews_and_counts_a_view(
    api, person, screenshot, watchable
):
    before = (await api.call("GET", f"/videos/{watchable.video_id}")).body["view_count"]
    page = await person()
    await open_video(page, watchable.video_id)

    await expect(page.get_by_role("heading", name="Test pattern with a tone")).to_be_visible()
    await expect(page.locator("#video-description")).to_have_text(
        "Twenty seconds of ffmpeg's testsrc2.\nA sine at 440 Hz underneath.")
    await expect(page.locator("#related .related-title")).to_have_text(
        ["Related clip 2", "Related clip 1"], timeout=10_000)

    # The quality menu: Auto, then each rendition, best first; choosing one switches hls.js.
    quality = page.get_by_label("Quality")
    options = await quality.locator("option").all_inner_texts()
    assert options[0].startswith("Auto") and options[1:] == ["360p", "240p"], options
    await quality.select_option(label="240p")
    level = int(await quality.input_value())
    await page.wait_for_function(
        f"window.tributary.hls.currentLevel === {level}"
        " && document.getElementById('player').videoHeight === 240", timeout=15_000)
    assert (await page.evaluate(f"window.tributary.hls.levels[{level}].height")) == 240
    await quality.select_option(label="Auto")
    assert await page.evaluate("window.tributary.hls.autoLevelEnabled")

    # Hovering the seek bar shows the storyboard tile of that moment, and its time.
    seek = page.get_by_role("slider", name="Seek")
    box = await seek.bounding_box()
    await page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    preview = page.locator("#seek-preview")
    await expect(preview).to_be_visible()
    await expect(preview.locator(".seek-preview-time")).to_have_text("0:10")
    image = await preview.locator(".seek-preview-image").evaluate("e => getComputedStyle(e).backgroundImage")
    assert f"/vod/{watchable.video_id}/thumb" in image, image
    await screenshot(page, "video")
    await page.mouse.move(0, 0)
    await expect(preview).to_be_hidden()

    # Arrows on the seek bar jump five seconds (with a preview); a click seeks there; Home goes
    # back to the start.
    before_jump = float(await page.evaluate(PLAYER_TIME))
    await seek.focus()
    await page.keyboard.press("ArrowRight")
    await expect(preview).to_be_visible()
    assert float(await page.evaluate(PLAYER_TIME)) >= before_jump + 4.5
    await page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    await page.wait_for_function(f"Math.abs({PLAYER_TIME} - 15) < 1.5", timeout=5_000)
    await page.keyboard.press("Home")
    assert float(await page.evaluate(PLAYER_TIME)) < 1
    await expect(preview).to_be_hidden()

    # Ten seconds of watching is a view (once per viewer per hour), and the page says so.
    await page.evaluate("document.getElementById('player').playbackRate = 2")
    await wait_time(page, 11)
    await expect(page.locator("#video-stats")).to_contain_text(f"{before + 1} view", timeout=10_000)
    after = (await api.call("GET", f"/videos/{watchable.video_id}")).body["view_count"]
    assert after == before + 1


async def test_playback_resumes_where_a_signed_in_viewer_left_off(api, person, watchable):
    viewer = await api.register()
    page = await person(viewer)
    await open_video(page, watchable.video_id)
    await page.evaluate("document.getElementById('player').playbackRate = 2")
    await wait_time(page, 8)
    # Reloading while it plays: the position is saved as the page goes (pagehide).
    await page.reload()
    await page.wait_for_function(f"{PLAYER_TIME} > 0", timeout=20_000)
    resumed = float(await page.evaluate(PLAYER_TIME))
    assert resumed >= 7.5, resumed
    saved = await api.call("GET", f"/me/history/{watchable.video_id}", account=viewer)
    assert saved.status == 200 and saved.body["position_seconds"] >= 7.5, saved.body


async def test_a_signed_out_viewer_resumes_from_this_browser_and_shared_links_start_at_t(
    web_node, person, watchable
):
    page = await person()
    await open_video(page, watchable.video_id, "?t=12")
    assert float(await page.evaluate(PLAYER_TIME)) >= 11.5

    # Pausing saves the position in this browser; a new visit starts there.
    await page.get_by_role("button", name="Pause").click()
    paused_at = float(await page.evaluate(PLAYER_TIME))
    await page.goto(f"/v/{watchable.video_id}")
    await page.wait_for_function(f"{PLAYER_TIME} > 0", timeout=20_000)
    assert float(await page.evaluate(PLAYER_TIME)) == pytest.approx(paused_at, abs=1.0)

    # The share link carries the current moment when asked to.
    await page.get_by_role("button", name="Pause").click()
    moment = int(await page.evaluate(PLAYER_TIME))
    await page.get_by_role("button", name="Share").click()
    link = page.get_by_label("Link to this video")
    address = f"{web_node.http}/v/{watchable.video_id}"
    await expect(link).to_have_value(address)
    await page.get_by_label("Start at").check()
    await expect(link).to_have_value(f"{address}?t={moment}")


async def test_like_dislike_and_subscribe_toggle(api, person, watchable):
    viewer = await api.register()
    page = await person(viewer)
    await page.goto(f"/v/{watchable.video_id}")
    like, dislike = page.locator("#like"), page.locator("#dislike")
    likes = (await api.call("GET", f"/videos/{watchable.video_id}")).body["like_count"]

    await like.click()
    await expect(like).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#like-count")).to_have_text(str(likes + 1))
    await dislike.click()
    await expect(dislike).to_have_attribute("aria-pressed", "true")
    await expect(like).to_have_attribute("aria-pressed", "false")
    await expect(page.locator("#like-count")).to_have_text(str(likes))
    await expect(page.locator("#dislike-count")).to_have_text("1")
    await dislike.click()
    await expect(dislike).to_have_attribute("aria-pressed", "false")
    await expect(page.locator("#dislike-count")).to_have_text("0")
    state = await api.call("GET", f"/videos/{watchable.video_id}/reaction", account=viewer)
    assert state.body["reaction"] is None

    subscribe = page.get_by_role("button", name="Subscribe")
    await subscribe.click()
    await expect(page.get_by_role("button", name="Subscribed")).to_have_attribute("aria-pressed", "true")
    handle = (await api.call("GET", f"/videos/{watchable.video_id}")).body["channel"]
    state = await api.call("GET", f"/channels/{handle}/subscription", account=viewer)
    assert state.body["subscribed"] is True
    await expect(page.locator("#subscriber-count")).to_have_text(
        f"{state.body['subscriber_count']} subscriber" + ("" if state.body["subscriber_count"] == 1 else "s"))


async def test_comments_arrive_live_render_as_text_and_timestamps_seek(api, person, screenshot, watchable):
    viewer, other = await api.register(), await api.register()
    page = await person(viewer)
    await open_video(page, watchable.video_id)
    await page.get_by_role("button", name="Pause").click()
    comments = page.locator("#comment-list")

    # Another user's comment, posted through the REST API, appears without a reload.
    first = await api.call("POST", f"/videos/{watchable.video_id}/comments", account=other,
                           json={"text": "Lovely tone", "timestamp_seconds": 15})
    assert first.status == 201
    thread = page.locator(f"#comment-{first.body['id']}")
    await expect(thread).to_contain_text("Lovely tone", timeout=10_000)

    # Hostile text is text.
    hostile = await api.call("POST", f"/videos/{watchable.video_id}/comments", account=other,
                             json={"text": HOSTILE})
    await expect(page.locator(f"#comment-{hostile.body['id']} .comment-text")).to_have_text(HOSTILE)
    assert await comments.locator("img, script").count() == 0
    assert await page.evaluate("window.pwned") is None

    # A reply joins its thread, live.
    reply = await api.call("POST", f"/comments/{first.body['id']}/replies", account=other,
                           json={"text": "Agreed, 440 Hz"})
    assert reply.status == 201
    await thread.get_by_role("button", name="View 1 reply").click()
    await expect(thread.locator(".replies")).to_contain_text("Agreed, 440 Hz")

    # Replying through the page: a reply arriving live while typing leaves the form alone.
    await thread.get_by_role("button", name="Reply").first.click()
    await page.get_by_label(re.compile("^Reply to")).fill("Me too")
    await api.call("POST", f"/comments/{first.body['id']}/replies", account=other, json={"text": "Still here"})
    await expect(thread.locator(".replies")).to_contain_text("Still here")
    await expect(page.get_by_label(re.compile("^Reply to"))).to_have_value("Me too")
    await thread.locator(".reply-form").get_by_role("button", name="Reply").click()
    await expect(thread.locator(".replies .comment-text")).to_have_text(["Agreed, 440 Hz", "Still here", "Me too"])
    await expect(page.get_by_role("heading", name="5 comments")).to_be_visible()

    # The comment's timestamp seeks the player.
    await thread.get_by_role("button", name="Play from 0:15").click()
    await page.wait_for_function(f"{PLAYER_TIME} >= 14.9", timeout=10_000)

    # The viewer's own comment, at the current moment: shown once, and deletable.
    await page.get_by_role("button", name="Pause").click()
    await page.get_by_label("Add a comment").fill("My own remark")
    await page.get_by_role("checkbox", name=re.compile(r"^At \d")).check()
    await page.get_by_role("button", name="Comment", exact=True).click()
    own = comments.locator(".comment", has_text="My own remark")
    await expect(own).to_have_count(1)
    await expect(own.locator(".timestamp")).to_have_text("0:15")
    await page.evaluate("scrollTo(0, 0)")  # the sticky top bar belongs at the top of the picture
    await screenshot(page, "video-comments")
    await own.get_by_role("button", name="Delete").click()
    await own.get_by_role("button", name="Delete").click()
    await expect(comments.locator(".comment", has_text="My own remark")).to_have_count(0)

    # A comment deleted elsewhere disappears.
    assert (await api.call("DELETE", f"/comments/{hostile.body['id']}", account=other)).status == 204
    await expect(page.locator(f"#comment-{hostile.body['id']}")).to_have_count(0)


async def test_on_a_phone(api, person, screenshot, watchable):
    page = await person(await api.register(), phone=True)
    await open_video(page, watchable.video_id)
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("#related .related-card")).to_have_count(2)
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 390.5)
        .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + e.getBoundingClientRect().right)""")
    assert width <= 390, f"the page scrolls sideways: {width} px; {wide}"
    await screenshot(page, "video-phone")


async def test_a_private_video_is_private_to_others_and_plays_for_its_owner(
    api, person, screenshot, tmp_path
):
    owner = await api.register(creator=True)
    video_id = await transcoded_video(api, owner, tmp_path, seconds=4, privacy=Privacy.PRIVATE)

    page = await person()
    await page.goto(f"/v/{video_id}")
    await expect(page.get_by_role("heading", name="This video is private or does not exist")).to_be_visible()
    await expect(page.locator("#watch")).to_be_hidden()
    await screenshot(page, "video-private")

    # Its media: refused without a token (404, as if it did not exist), served with one.
    master = (await api.call("GET", f"/videos/{video_id}", account=owner)).body["playback_url"]
    token = (await api.call("POST", f"/videos/{video_id}/playback-token", account=owner)).body["token"]
    status, body, _ = await get(api, f"{master}?token={token}")
    assert status == 200
    base = master.rsplit("/", 1)[0]
    rendition = m3u8.loads(body.decode()).playlists[0].uri.split("?")[0]
    status, body, _ = await get(api, f"{base}/{rendition}?token={token}")
    segment = m3u8.loads(body.decode()).segments[0].uri.split("?")[0]
    media = [master, f"{base}/{rendition}", f"{base}/{rendition.rsplit('/', 1)[0]}/{segment}",
             f"{base}/storyboard.vtt"]
    for url in media:
        assert (await get(api, url))[0] in (403, 404), url

    # Its owner watches it: the player passes a playback token.
    mine = await person(owner)
    await open_video(mine, video_id)
    await expect(mine.locator("#video-stats")).to_contain_text("Private")


async def test_an_upload_shows_its_progress_then_plays_when_ready(api, person, tmp_path):
    owner = await api.register(creator=True)
    video_id, raw_key = await upload_source(api, owner, tmp_path, seconds=4, title="Fresh upload")

    page = await person(owner)
    await page.goto(f"/v/{video_id}")
    await expect(page.get_by_role("heading", name="This video is still uploading")).to_be_visible()
    await transcode(api, video_id, raw_key, tmp_path)
    # The page notices by itself, and plays.
    await expect(page.get_by_role("heading", name="Fresh upload")).to_be_visible(timeout=10_000)
    await page.wait_for_function(f"{PLAYER_TIME} > 0.5", timeout=20_000)


async def test_processing_progress_then_the_failure_reason(api, person, screenshot):
    owner = await api.register(creator=True)
    video_id = await make_video(api, owner, "Being processed", status=Status.PROCESSING)
    videos = Videos(api.node.node.pool)
    internal = (await videos.get(video_id)).id
    await videos.set_status(internal, Status.PROCESSING, progress_percent=42)

    page = await person(owner)
    await page.goto(f"/v/{video_id}")
    await expect(page.get_by_role("heading", name="This video is still processing")).to_be_visible()
    await expect(page.locator("#message-detail")).to_contain_text("42 % done")
    await screenshot(page, "video-processing")

    await videos.set_status(internal, Status.FAILED, failure_reason="the file has no video stream")
    await expect(page.get_by_role("heading", name="This video could not be processed")).to_be_visible(timeout=10_000)
    await expect(page.locator("#message-detail")).to_have_text("Reason: the file has no video stream")

    # Anyone else: it does not exist for them.
    other = await person()
    await other.goto(f"/v/{video_id}")
    await expect(other.get_by_role("heading", name="This video is private or does not exist")).to_be_visible()
