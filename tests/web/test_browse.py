"""The browsing and account pages in Chromium: signing up, out and in (and the API's refusals
in words), the home page's shelves with real data, search with filters in the URL, a channel's
page with its live status and the subscribe button, hostile titles shown as text, ``?next=``
kept on this site, and the home page on a phone."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import pytest
from playwright.async_api import expect

from catalog.trending import HotScores
from catalog.videos import Privacy
from tests.support.api_client import Account, Api
from tests.support.ffmpeg import Source, start_publish
from tests.support.llhls import wait_playlist
from tests.support.social import make_video
from tests.support.web_ui import fill_sign_up, sign_in

HOSTILE = "<img src=x onerror=alert(1)>"


def word() -> str:
    """A word no other test's video has, to search for."""
    return f"w{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def live_stream(api: Api) -> AsyncIterator[tuple[Account, str]]:
    """A creator's stream being published over RTMP (live on the node): (creator, stream name)."""
    creator = await api.register(creator=True)
    name = f"browse-{creator.username[1:]}"
    created = await api.call("POST", "/live-streams", json={"name": name, "title": "Morning show"},
                             account=creator)
    assert created.status == 201, created.body
    source = Source(seconds=120, width=320, height=180, fps=15, gop=30)
    pusher = await start_publish(f"{created.body['rtmp_url']}/{created.body['stream_key']}", source)
    try:
        async with aiohttp.ClientSession() as http:
            await wait_playlist(http, created.body["stream"]["playlist_url"], timeout=30)
        yield creator, name
    finally:
        pusher.kill()
        await pusher.wait()


async def test_sign_up_sign_out_and_sign_in_again(api, person, screenshot):
    """A creator signs up through the page, gets a channel, signs out, mistypes the password
    (told so in words), then signs in and lands on the page that sent them."""
    page = await person()
    username = f"u{uuid.uuid4().hex[:10]}"
    await page.goto("/signup")
    await screenshot(page, "signup")
    await fill_sign_up(page, username, creator=True)
    await page.wait_for_url("**/")
    nav = page.get_by_role("navigation", name="Account")
    await expect(nav).to_contain_text(f"{username} Films")
    await expect(nav.get_by_role("link", name="My channel")).to_have_attribute("href", f"/c/{username}")
    assert (await api.call("GET", f"/channels/{username}")).status == 200

    await nav.get_by_role("button", name="Sign out").click()
    await expect(nav.get_by_role("link", name="Sign in")).to_be_visible()

    await page.goto(f"/signin?next=/c/{username}")
    await expect(page.get_by_role("link", name="Create one")).to_have_attribute(
        "href", f"/signup?next=%2Fc%2F{username}")
    await sign_in(page, f"{username}@example.org", "wrong password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong e-mail address or password.")
    await screenshot(page, "signin")
    await sign_in(page, f"{username}@example.org", "correct horse battery")
    await page.wait_for_url(f"**/c/{username}")
    await expect(page.get_by_role("link", name="Manage in Studio")).to_be_visible()


async def test_refusals_are_shown_in_words(api, person):
    """A taken user name, a weak password, a malformed address and the rate limit each get a
    sentence next to the form (the rate limit is answered by a stand-in for the API: the test
    node's limits are out of reach on purpose)."""
    taken = await api.register()
    page = await person()
    await page.goto("/signup")
    await fill_sign_up(page, taken.username)
    await expect(page.get_by_role("alert")).to_contain_text("already exists")
    assert page.url.endswith("/signup")

    await fill_sign_up(page, f"u{uuid.uuid4().hex[:10]}", password="short")
    password = page.get_by_label("Password")
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#password-error")).to_have_text("Use at least 8 characters (and at most 256).")
    await expect(password).to_be_focused()

    await page.get_by_label("E-mail address").fill("not an address")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("#email-error")).to_contain_text("Enter an e-mail address")
    await expect(page.locator("#password-error")).to_be_hidden()

    await page.route("**/api/v1/auth/login", lambda route: route.fulfill(
        status=429, headers={"Retry-After": "42"}, content_type="application/json",
        body='{"error": "rate_limited", "detail": "too many requests; limit 10 per 1 minute, retry in 42 s"}'))
    await page.goto("/signin")
    await sign_in(page, taken.email, taken.password)
    await expect(page.get_by_role("alert")).to_have_text(
        "Could not sign in: too many requests; try again in 42 seconds.")


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "/\t/evil.example", "javascript:alert(1)", "/signup"])
async def test_next_never_leaves_the_site(api, person, target):
    """After signing in, ?next= is followed only to a path on this site; anything else goes home."""
    account = await api.register()
    page = await person()
    await page.goto(f"/signin?next={quote(target, safe='')}")
    await sign_in(page, account.email, account.password)
    await page.wait_for_url(re.compile(r"^http://[^/]+/$"))


async def test_home_empty_states(api, person):
    """A visitor (no feed shelf) with nothing live sees a sentence instead of an empty shelf."""
    page = await person()
    await page.goto("/")
    await expect(page.locator("#live-now")).to_contain_text("Nobody is live right now.")
    await expect(page.locator("#subscriptions")).to_be_hidden()
    await expect(page.locator("#latest")).not_to_have_attribute("aria-busy", "true")


async def test_home_shelves_show_real_data(api, person, screenshot, live_stream):
    """Live now, the subscription feed, trending and the latest videos, each from the API."""
    streamer, stream = live_stream
    creator, viewer = await api.register(creator=True), await api.register()
    hot = await make_video(api, creator, "Hot take", duration=95)
    for fan in [viewer, *[await api.register() for _ in range(3)]]:
        liked = await api.call("PUT", f"/videos/{hot}/reaction", json={"reaction": "like"}, account=fan)
        assert liked.status == 200, liked.body
    await HotScores(api.node.node.pool).refresh()
    newest = await make_video(api, creator, "Fresh upload")
    assert (await api.call("PUT", f"/channels/{creator.channel}/subscription", account=viewer)).status == 200

    page = await person(viewer)
    await page.goto("/")
    live = page.locator("#live-now")
    await expect(live.get_by_role("link", name="Morning show")).to_have_attribute("href", f"/watch/{stream}")
    await expect(live.get_by_role("link", name=streamer.channel)).to_have_attribute("href", f"/c/{streamer.channel}")
    feed = page.locator("#subscriptions")
    await expect(feed.get_by_role("link", name="Fresh upload")).to_have_attribute("href", f"/v/{newest}")
    await expect(feed.get_by_role("link", name="Hot take")).to_be_visible()
    trending = page.locator("#trending")
    await expect(trending.get_by_role("link", name="Hot take")).to_have_attribute("href", f"/v/{hot}")
    await expect(trending.get_by_text("1:35")).to_be_visible()
    latest = page.locator("#latest .card").first
    await expect(latest.get_by_role("link", name="Fresh upload")).to_have_attribute("href", f"/v/{newest}")
    await screenshot(page, "home")


async def test_home_on_a_phone(api, person, screenshot):
    """At 390×844 the home page fits the screen's width: no sideways scrolling."""
    creator = await api.register(creator=True)
    for n in range(3):
        await make_video(api, creator, f"Pocket video {n} with a rather long title to wrap", duration=600)
    page = await person(phone=True)
    await page.goto("/")
    await expect(page.locator("#latest").get_by_text("Pocket video 2")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "home-phone")


async def test_search_with_filters_in_the_url(api, person, screenshot):
    """Results for ?q=; a filter chosen with the keyboard goes into the URL (so the search can
    be linked), and "More" loads the next page."""
    creator = await api.register(creator=True)
    term = word()
    short = await make_video(api, creator, f"{term} quick tip", duration=60)
    long = await make_video(api, creator, f"{term} full lecture", duration=3600)
    page = await person()
    await page.goto(f"/search?q={term}")
    results = page.locator("#results")
    await expect(results.locator(".card")).to_have_count(2)

    duration = page.get_by_label("Duration")
    await duration.focus()
    await duration.select_option("long")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Apply filters")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/search?q={term}&duration=long")
    await expect(results.get_by_role("link", name=f"{term} full lecture")).to_have_attribute("href", f"/v/{long}")
    await expect(results.locator(".card")).to_have_count(1)
    await expect(duration).to_have_value("long")
    await screenshot(page, "search")

    await page.goto(f"/search?q={term}&duration=short&sort=views")
    await expect(results.get_by_role("link", name=f"{term} quick tip")).to_have_attribute("href", f"/v/{short}")
    await expect(page.get_by_label("Sort by")).to_have_value("views")

    await page.goto(f"/search?q={word()}&type=video")
    await expect(results).to_contain_text("Nothing found for")

    for n in range(25):
        await make_video(api, creator, f"{term} part {n}")
    await page.goto(f"/search?q={term}")
    await expect(results.locator(".card")).to_have_count(24)
    await results.get_by_role("button", name="More").click()
    await expect(results.locator(".card")).to_have_count(27)
    await expect(results.get_by_role("button", name="More")).to_be_hidden()
    await expect(results.locator(".card").nth(24).get_by_role("link").first).to_be_focused()


async def test_channel_page_subscribe_and_live_status(api, person, screenshot, live_stream):
    """A channel's title, description, live streams and videos; subscribing changes the count
    (and back); a visitor is sent to sign in first; an unknown handle says so."""
    streamer, stream = live_stream
    await api.call("PATCH", f"/channels/{streamer.channel}", account=streamer,
                   json={"title": "Morning Channel", "description": "Shows every morning.\nNews too."})
    public = await make_video(api, streamer, "Yesterday's show", duration=1800)
    await make_video(api, streamer, "Draft", privacy=Privacy.PRIVATE)
    viewer = await api.register()

    page = await person(viewer)
    await page.goto(f"/c/{streamer.channel}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Morning Channel")
    await expect(page.get_by_text("Shows every morning.")).to_be_visible()
    await expect(page.locator("#live-badge")).to_be_visible()
    await expect(page.locator("#channel-live").get_by_role("link", name="Morning show")).to_have_attribute(
        "href", f"/watch/{stream}")
    videos = page.locator("#channel-videos")
    await expect(videos.get_by_role("link", name="Yesterday's show")).to_have_attribute("href", f"/v/{public}")
    await expect(videos.get_by_text("Draft")).to_have_count(0)
    count = page.locator("#subscriber-count")
    await expect(count).to_have_text("0 subscribers")
    button = page.get_by_role("button", name="Subscribe")
    await button.click()
    await expect(button).to_have_attribute("aria-pressed", "true")
    await expect(count).to_have_text("1 subscriber")
    await screenshot(page, "channel")
    await button.click()
    await expect(button).to_have_attribute("aria-pressed", "false")
    await expect(count).to_have_text("0 subscribers")

    owner = await person(streamer)
    await owner.goto(f"/c/{streamer.channel}")
    await expect(owner.locator("#channel-videos").get_by_text("Private")).to_be_visible()
    await expect(owner.get_by_role("link", name="Manage in Studio")).to_be_visible()

    visitor = await person()
    await visitor.goto(f"/c/{streamer.channel}")
    await visitor.get_by_role("button", name="Subscribe").click()
    await visitor.wait_for_url(f"**/signin?next=%2Fc%2F{streamer.channel}")

    await visitor.goto("/c/nobody-here")
    await expect(visitor.get_by_role("heading", name="No such channel")).to_be_visible()


async def test_hostile_titles_are_text(api, person):
    """Markup in titles and descriptions is shown as the characters typed, never run."""
    creator = await api.register(creator=True)
    await api.call("PATCH", f"/channels/{creator.channel}", account=creator,
                   json={"title": HOSTILE, "description": f"{HOSTILE}<script>alert(2)</script>"})
    term = word()
    await make_video(api, creator, f"{term} {HOSTILE}")
    page = await person()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    for path in ("/", f"/search?q={term}", f"/c/{creator.channel}"):
        await page.goto(path)
        await expect(page.get_by_text(HOSTILE).first).to_be_visible()
        assert await page.locator("img[src=x]").count() == 0
    await expect(page.get_by_text(f"{HOSTILE}<script>alert(2)</script>")).to_be_visible()
    assert dialogs == []
