"""The issue's end-to-end journeys, each through the pages alone, as people do them: a creator
signs up and goes live while a viewer watches and they chat; a creator uploads a video in the
studio and a viewer plays it, switches quality, leaves and comes back to where they were.
(A private video's page and its media are covered in test_vod_watch.py.)"""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from tests.support.ffmpeg import Source, make_file, start_publish
from tests.support.web_ui import (
    PLAYER_TIME,
    chat_message,
    choose_and_upload,
    fill_sign_up,
    open_live,
    open_video,
    say,
    wait_playing,
    wait_time,
)

PROCESSING_TIMEOUT = 180_000  # ms: two renditions of a 20 s 480p file on a busy 2-core machine


async def test_a_creator_goes_live_and_a_viewer_watches_and_chats(api, person, screenshot):
    creator = await person()
    username = f"j{uuid.uuid4().hex[:10]}"
    await creator.goto("/signup")
    await fill_sign_up(creator, username, creator=True)
    await creator.wait_for_url(lambda url: not url.endswith("/signup"))

    await creator.goto("/studio")
    name = f"j{uuid.uuid4().hex[:10]}"
    await creator.get_by_label("Name").fill(name)
    await creator.get_by_label("Title").fill("Journey live")
    await creator.get_by_role("button", name="Create stream").click()
    card = creator.locator(f"[data-stream='{name}']")
    rtmp = await card.get_by_label("RTMP URL", exact=True).input_value()
    key = await card.get_by_label("Stream key", exact=True).input_value()

    pusher = await start_publish(f"{rtmp}/{key}", Source(seconds=120))
    try:
        viewer = await person(await api.register())
        await open_live(viewer, name)
        await wait_playing(viewer)
        await expect(viewer.locator("#live-badge")).to_be_visible()
        await expect(viewer.locator("#latency")).to_have_text(re.compile(r"latency \d+\.\d\d s"))

        await open_live(creator, name)
        await say(viewer, "hello from the audience")
        await expect(chat_message(creator, "hello from the audience")).to_be_visible()
        await say(creator, "welcome, everyone")
        await expect(chat_message(viewer, "welcome, everyone")).to_be_visible()
        await screenshot(viewer, "journey-live")
    finally:
        pusher.kill()
        await pusher.wait()


async def test_a_creator_uploads_and_a_viewer_plays_switches_quality_and_resumes(
    api, person, tmp_path
):
    owner = await api.register(creator=True)
    clip = tmp_path / "journey.mp4"
    await make_file(clip, Source(seconds=20, width=854, height=480, realtime=False))
    studio = await person(owner)
    await studio.goto("/studio/upload")
    await choose_and_upload(studio, clip, title="Journey upload", privacy="public")
    await expect(studio.locator("#upload-numbers")).to_contain_text("%")
    processing = studio.locator("#processing")
    await expect(processing).to_be_visible(timeout=60_000)
    await expect(processing.get_by_text("Your video is ready.")).to_be_visible(timeout=PROCESSING_TIMEOUT)
    video_id = (await processing.get_by_role("link", name="Watch it").get_attribute("href")).removeprefix("/v/")

    viewer = await person(await api.register())
    await open_video(viewer, video_id)
    quality = viewer.get_by_label("Quality")
    options = await quality.locator("option").all_inner_texts()
    assert options[1:] == ["480p", "360p"], options
    await quality.select_option(label="360p")
    await viewer.wait_for_function(
        "document.getElementById('player').videoHeight === 360", timeout=15_000)
    await viewer.evaluate("document.getElementById('player').playbackRate = 2")
    await wait_time(viewer, 8)  # past the first seconds, which are not worth resuming

    await viewer.goto("/")  # leaves: the position is saved as the page goes
    await viewer.goto(f"/v/{video_id}")
    await viewer.wait_for_function(f"{PLAYER_TIME} >= 7.5", timeout=20_000)
    # It got there by starting at the saved position, not by playing from the top.
    starts = await viewer.evaluate(
        "(p => Array.from({length: p.length}, (_, i) => p.start(i)))"
        "(document.getElementById('player').played)")
    assert all(start >= 7.0 for start in starts), starts
