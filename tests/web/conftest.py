"""The web UI in real headless Chromium against one real node (PostgreSQL, Redis, chat, a job
worker): an API client to set things up, browser contexts (one per person), and screenshots
of each page saved under ``test-artifacts/screenshots/`` for people to look at."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.support.api_client import Account, Api, api_for
from tests.support.browser import chromium
from tests.support.nodes import RunningNode, node_factory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

NewPerson = Callable[..., Awaitable[Page]]


@pytest.fixture(scope="package")
async def web_node(services, tmp_path_factory) -> AsyncIterator[RunningNode]:
    async with node_factory(services, tmp_path_factory.mktemp("web")) as start:
        yield await start()


@pytest.fixture
async def api(web_node) -> AsyncIterator[Api]:
    async with api_for(web_node) as api:
        yield api


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def person(browser, web_node) -> AsyncIterator[NewPerson]:
    """``await person(account=None, phone=False)``: a page in a browser context of its own
    (its own storage: one person), signed in as ``account`` if given. Console errors and
    uncaught exceptions of every page fail the test."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    async def open_page(account: Account | None = None, *, phone: bool = False) -> Page:
        context = await browser.new_context(
            base_url=web_node.http, viewport=PHONE if phone else DESKTOP,
            is_mobile=phone, has_touch=phone,
        )
        contexts.append(context)
        if account is not None:
            await sign_in_storage(context, web_node, account)
        page = await context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
        return page

    yield open_page
    for context in contexts:
        await context.close()
    unexpected = [p for p in problems if not _expected_console_error(p)]
    assert not unexpected, unexpected


def _expected_console_error(problem: str) -> bool:
    """A failed resource load the test caused on purpose (a 403/404 it checks for) is logged
    by Chromium as a console error; nothing else is expected."""
    return "Failed to load resource" in problem


async def sign_in_storage(context: BrowserContext, node: RunningNode, account: Account) -> None:
    """The session the sign-in page would store (``web/static/js/session.js``), for tests
    whose subject is not signing in."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{node.api}/me", headers=account.auth) as response:
            me = await response.json()
    session = {"access": account.access, "refresh": account.refresh, "user": me["user"],
               "channel": me["channel"]}
    # Once per context: a page that signs out must stay signed out.
    await context.add_init_script(
        "if (!localStorage.getItem('tributary.seeded')) {"
        f" localStorage.setItem('tributary.session', JSON.stringify({json.dumps(session)}));"
        " localStorage.setItem('tributary.seeded', '1'); }"
    )


@pytest.fixture
def screenshot() -> Callable[[Page, str], Awaitable[Path]]:
    """``await screenshot(page, "home")``: the whole page as test-artifacts/screenshots/home.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
