"""What a person does on Tributary's pages, as Playwright steps shared by the page tests and the
end-to-end journeys: signing up and in, uploading in the studio, watching a video, watching a
live stream and chatting. Selectors are the pages' labels and roles, as a person finds them."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page, expect

PLAYER_TIME = "document.getElementById('player').currentTime"


async def fill_sign_up(page: Page, username: str, *, password: str = "correct horse battery",
                       creator: bool = False) -> None:
    await page.get_by_label("E-mail address").fill(f"{username}@example.org")
    await page.get_by_label("User name").fill(username)
    await page.get_by_label("Name shown to others").fill(f"{username} Films")
    await page.get_by_label("Password").fill(password)
    if creator:
        await page.get_by_label("I want to create").check()
    await page.get_by_role("button", name="Create account").click()


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def choose_and_upload(page: Page, path: Path, title: str | None = None,
                            privacy: str | None = None) -> None:
    """On /studio/upload: pick the file, fill the form, start the upload."""
    await page.get_by_label("Video file").set_input_files(str(path))
    if title is not None:
        await page.get_by_label("Title").fill(title)
    if privacy is not None:
        await page.get_by_label("Privacy").select_option(privacy)
    await page.get_by_role("button", name="Upload", exact=True).click()


async def upload_percent(page: Page) -> int:
    return int(await page.locator("#upload-progress").evaluate("bar => bar.value"))


async def open_video(page: Page, video_id: str, query: str = "") -> None:
    """Open a video's watch page and wait until it plays."""
    await page.goto(f"/v/{video_id}{query}")
    await page.wait_for_function(f"{PLAYER_TIME} > 0.5", timeout=20_000)


async def wait_time(page: Page, seconds: float, timeout: float = 30_000) -> float:
    """Until the player reaches ``seconds``; where it is then."""
    await page.wait_for_function(f"{PLAYER_TIME} >= {seconds}", timeout=timeout)
    return float(await page.evaluate(PLAYER_TIME))


async def open_live(page: Page, stream: str) -> Page:
    """A live stream's page, once its chat has joined the room."""
    await page.goto(f"/watch/{stream}")
    await expect(page.locator("#chat-state")).to_have_text("", timeout=15_000)
    return page


async def wait_playing(page: Page, seconds: float = 2) -> None:
    """Until the video has played ``seconds`` more than when it first moved."""
    await page.wait_for_function(f"() => {PLAYER_TIME} > 0.5", timeout=30_000, polling=200)
    start = await page.evaluate(PLAYER_TIME)
    await page.wait_for_function(f"() => {PLAYER_TIME} > {start + seconds}", timeout=30_000, polling=200)


async def say(page: Page, text: str) -> None:
    """Type ``text`` in the chat box and press Enter."""
    box = page.locator("#chat-input")
    await expect(box).to_be_enabled()
    await box.fill(text)
    await box.press("Enter")


def chat_message(page: Page, text: str) -> Locator:
    """The chat message (on ``page``) whose text contains ``text``."""
    return page.locator("#chat-messages li", has=page.locator(".chat-text", has_text=text))
