"""The live page (``/watch/NAME``) in real Chromium: a stream published over RTMP by ffmpeg plays
with its LIVE badge, latency readout and viewer count; people chat through the page (Socket.IO),
a moderator's actions reach the viewers, refusals show as notices, and an offline stream says so
and starts playing when it goes live."""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from catalog.access import Principal, Role
from catalog.access_tokens import AccessTokens

from tests.support.api_client import Account, Api, api_for
from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import wait_playlist
from tests.support.nodes import RunningNode
from tests.support.web_ui import PLAYER_TIME, chat_message, open_live, say, wait_playing
from tests.web.conftest import NewPerson, sign_in_storage
from tributary.secret_key import load_secret_key

STREAM_SECONDS = 240  # longer than every test that watches the module's stream
TITLE = "Evening <b>show</b> & friends"
HOSTILE = '<img src=x onerror="window.__pwned = 1"> <script>window.__pwned = 2</script> <b>&amp;</b>'
TakeScreenshot = Callable[[Page, str], Awaitable[Path]]


@dataclass(frozen=True)
class LiveStream:
    name: str
    key: str
    owner: Account


async def new_stream(api: Api, owner: Account, title: str = "") -> LiveStream:
    """A stream of ``owner``'s channel (so its owner moderates the chat), not yet published."""
    name = f"w{uuid.uuid4().hex[:12]}"
    created = await api.call("POST", "/live-streams", json={"name": name, "title": title}, account=owner)
    assert created.status == 201, created.body
    return LiveStream(name, created.body["stream_key"], owner)


@pytest.fixture(scope="module")
async def live(web_node: RunningNode) -> AsyncIterator[LiveStream]:
    """A creator's stream, published over RTMP for the whole module."""
    async with api_for(web_node) as api:
        stream = await new_stream(api, await api.register(creator=True), TITLE)
        pusher = await start_publish(f"{web_node.rtmp}/{stream.key}", Source(seconds=STREAM_SECONDS))
        try:
            await wait_playlist(api.session, web_node.playlist_url(stream.name), timeout=30)
            yield stream
        finally:
            pusher.kill()
            await pusher.wait()


async def test_an_offline_stream_says_so_and_plays_when_it_goes_live(
    web_node: RunningNode, api: Api, person: NewPerson, screenshot: TakeScreenshot
) -> None:
    stream = await new_stream(api, await api.register(creator=True), "Starting soon")
    page = await person()
    await page.goto(f"/watch/{stream.name}")
    offline = page.locator("#offline")
    await expect(offline).to_be_visible()
    await expect(offline).to_contain_text("This stream is offline")
    await expect(offline).to_contain_text("It will start playing when it goes live.")
    await expect(page.locator("#status")).to_have_text("Offline")
    await expect(page.locator("#live-badge")).to_be_hidden()
    await expect(page.locator("#chat-state")).to_have_text("")  # the chat works while offline
    await screenshot(page, "live-offline")

    # It goes live: the page plays. It ends: the page says so again. It comes back: it plays.
    for _ in range(2):
        pusher = await start_publish(f"{web_node.rtmp}/{stream.key}", Source(seconds=8))
        try:
            await wait_playing(page)
            await expect(offline).to_be_hidden()
            await expect(page.locator("#live-badge")).to_be_visible()
            await expect(page.locator("#stream-title")).to_have_text("Starting soon")
            await expect(offline).to_be_visible(timeout=30_000)
            await expect(page.locator("#live-badge")).to_be_hidden()
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have finished
                pusher.kill()
            await pusher.wait()
    assert await page.evaluate("window.tributary.fatalErrors") == []


async def test_a_stream_that_does_not_exist_is_offline_without_a_chat(person: NewPerson) -> None:
    page = await person()
    await page.goto("/watch/nosuchstream")
    await expect(page.locator("#offline")).to_be_visible()
    await expect(page.locator("#chat-state")).to_have_text("No live stream 'nosuchstream'.")


async def test_a_viewer_watches_with_badge_latency_and_viewer_count(
    live: LiveStream, person: NewPerson
) -> None:
    page = await open_live(await person(), live.name)
    await wait_playing(page)
    await expect(page.locator("#live-badge")).to_be_visible()
    await expect(page.locator("#latency")).to_have_text(re.compile(r"^latency \d+\.\d\d s$"))
    samples = await page.evaluate("window.tributary.latencySamples")
    assert samples and all(0 < sample < 10 for sample in samples), samples
    await expect(page.locator("#viewers")).to_have_text(re.compile(r"^\d+ viewers?$"))
    await expect(page.locator("#offline")).to_be_hidden()
    await expect(page.locator("#go-live")).to_be_hidden()
    # The title is text, markup and all; the channel links to its page.
    await expect(page.locator("#stream-title")).to_have_text(TITLE)
    await expect(page.locator("#stream-channel a")).to_have_attribute("href", f"/c/{live.owner.channel}")
    # A visitor reads the chat and is asked to sign in to write.
    await expect(page.locator("#chat-form")).to_be_hidden()
    link = page.locator("#chat-signin a")
    await expect(link).to_have_text("Sign in to chat")
    await expect(link).to_have_attribute("href", f"/signin?next=%2Fwatch%2F{live.name}")

    # Paused, the viewer falls behind the live edge; "Go live" jumps back to it.
    await page.evaluate("document.getElementById('player').pause()")
    go_live = page.locator("#go-live")
    await expect(go_live).to_be_visible()
    await expect(page.locator("#live-badge")).to_have_class(re.compile("behind"))
    await page.wait_for_timeout(4000)
    await go_live.focus()
    await page.keyboard.press("Enter")
    await expect(go_live).to_be_hidden(timeout=10_000)
    lag = await page.evaluate(f"window.tributary.hls.liveSyncPosition - {PLAYER_TIME}")
    assert lag < 3, lag
    assert await page.evaluate("window.tributary.fatalErrors") == []


async def test_people_chat_and_the_owner_moderates(
    live: LiveStream, api: Api, person: NewPerson, screenshot: TakeScreenshot
) -> None:
    alice, bob = await api.register(), await api.register()
    alice_page = await open_live(await person(alice), live.name)
    bob_page = await open_live(await person(bob), live.name)
    owner_page = await open_live(await person(live.owner), live.name)

    await say(alice_page, "hello from alice")
    seen = chat_message(bob_page, "hello from alice")
    await expect(seen).to_be_visible()
    await expect(seen.locator(".chat-author")).to_have_text(f"User {alice.username[1:]}")
    await expect(alice_page.locator("#chat-input")).to_have_value("")

    # Hostile text arrives as text: no element, no script.
    await say(alice_page, HOSTILE)
    hostile = bob_page.locator("#chat-messages .chat-text").last
    await expect(hostile).to_have_text(HOSTILE)
    assert await bob_page.locator("#chat-messages img, #chat-messages script, #chat-messages b").count() == 0
    assert await bob_page.evaluate("window.__pwned") is None

    await say(bob_page, "hi alice")
    await expect(chat_message(alice_page, "hi alice")).to_be_visible()
    await expect(bob_page.locator("#viewers")).to_have_text(re.compile(r"^[3-9] viewers$"))
    await wait_playing(bob_page, 1)
    await screenshot(bob_page, "live")

    # The owner moderates: delete a message (from the keyboard), then time bob out.
    await expect(owner_page.locator("#chat-moderation")).to_be_visible()
    delete = chat_message(owner_page, "hello from alice").get_by_role("button", name="Delete the message")
    await delete.focus()
    await owner_page.keyboard.press("Enter")
    await expect(chat_message(bob_page, "hello from alice")).to_have_count(0)
    await expect(chat_message(alice_page, "hello from alice")).to_have_count(0)
    assert await alice_page.locator("#chat-messages .chat-text", has_text="pwned").count() == 1

    await chat_message(owner_page, "hi alice").get_by_role("button", name="Pin").click()
    pinned = alice_page.locator("#chat-pinned")
    await expect(pinned).to_contain_text("hi alice")
    await expect(pinned.locator(".chat-author")).to_have_text(f"User {bob.username[1:]}")
    await owner_page.locator("#chat-pinned").get_by_role("button", name="Unpin").click()
    await expect(pinned).to_be_hidden()

    await chat_message(owner_page, "hi alice").get_by_role("button", name="Time out").click()
    await expect(owner_page.locator("#chat-notice")).to_contain_text("is timed out for 10 min")
    await expect(chat_message(alice_page, "hi alice")).to_have_count(0)  # a sanction clears the messages
    await expect(bob_page.locator("#chat-standing")).to_contain_text("You were timed out until")
    await expect(bob_page.locator("#chat-input")).to_be_disabled()
    await chat_message(owner_page, "pwned").hover()  # shows a message's moderation actions
    await screenshot(owner_page, "live-moderator")
    # Undo lifts it.
    await owner_page.locator("#chat-notice").get_by_role("button", name="Undo").click()
    await expect(bob_page.locator("#chat-standing")).to_be_hidden()
    await expect(bob_page.locator("#chat-notice")).to_have_text("You can chat again.")
    await say(bob_page, "back again")
    await expect(chat_message(alice_page, "back again")).to_be_visible()


async def test_slow_mode_shows_its_rule_and_a_wait_notice(
    live: LiveStream, api: Api, person: NewPerson
) -> None:
    viewer = await open_live(await person(await api.register()), live.name)
    owner = await open_live(await person(live.owner), live.name)
    await owner.locator("#chat-moderation summary").click()
    await owner.locator("#slow-mode").select_option("30")
    try:
        await expect(viewer.locator("#chat-rules")).to_have_text("Slow mode: 1 message every 30 s")
        await say(viewer, "first")
        await expect(chat_message(owner, "first")).to_be_visible()
        await say(viewer, "second")
        notice = viewer.locator("#chat-notice")
        wait = re.compile(r"^Slow mode is on: wait \d+ s before your next message\.$")
        await expect(notice).to_have_text(wait)
        await expect(viewer.locator("#chat-input")).to_have_value("second")  # kept to send later
    finally:
        await owner.locator("#slow-mode").select_option("0")
    await expect(viewer.locator("#chat-rules")).to_be_hidden()


async def test_on_a_phone_the_chat_is_under_the_player(
    live: LiveStream, api: Api, person: NewPerson, screenshot: TakeScreenshot
) -> None:
    page = await open_live(await person(await api.register(), phone=True), live.name)
    await say(page, "watching from my phone")
    await expect(chat_message(page, "watching from my phone")).to_be_visible()
    await wait_playing(page, 1)
    await page.evaluate("window.scrollTo(0, 0)")
    player = await page.locator(".player-box").bounding_box()
    chat = await page.locator("#chat").bounding_box()
    assert player and chat
    assert chat["y"] >= player["y"] + player["height"], (player, chat)
    assert chat["x"] + chat["width"] <= 390 and player["width"] <= 390
    await screenshot(page, "live-phone")


async def test_the_chat_refreshes_an_expired_token_and_rejoins_after_a_drop(
    live: LiveStream, api: Api, browser: Browser, web_node: RunningNode
) -> None:
    """Not ``person``: a dropped network makes Chromium log failed WebSocket connections."""
    account = await api.register()
    assert web_node.node.pool is not None
    user_id = await web_node.node.pool.fetchval("SELECT id FROM users WHERE username = $1", account.username)
    expired = AccessTokens.of_secret(load_secret_key(web_node.node.settings), 60).issue(
        Principal(user_id, Role.VIEWER), now=time.time() - 3600).token
    context = await browser.new_context(base_url=web_node.http)
    try:
        await sign_in_storage(context, web_node, account)
        await context.add_init_script(
            "const s = JSON.parse(localStorage.getItem('tributary.session'));"
            f" s.access = {json.dumps(expired)};"
            " localStorage.setItem('tributary.session', JSON.stringify(s));"
        )
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        await open_live(page, live.name)
        await say(page, "my token was refreshed")
        await expect(chat_message(page, "my token was refreshed")).to_be_visible()
        stored = await page.evaluate("JSON.parse(localStorage.getItem('tributary.session')).access")
        assert stored != expired

        await context.set_offline(True)
        await expect(page.locator("#chat-state")).to_have_text("Reconnecting…")
        await expect(page.locator("#chat-input")).to_be_disabled()
        await context.set_offline(False)
        await expect(page.locator("#chat-state")).to_have_text("", timeout=15_000)
        await say(page, "back online")
        await expect(chat_message(page, "back online")).to_be_visible()
        assert problems == []
    finally:
        await context.close()
