"""The browser tests' world: the daemon (simulator over TCP, mosquitto, a seeded store with passwords)
and Debian's Chromium driven by Playwright. Skipped, saying why, only when /usr/bin/chromium is absent."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import PASSWORDS, give_passwords

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (apt-get install chromium) to run these")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def site(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(tokens)},
        sessions={"signin_limit_per_login": 3, "signin_limit_per_address": 50},
    )
    async with running_api(config, token) as running:
        yield running


@dataclass
class Tab:
    """One person's browser window on the daemon's page."""

    context: BrowserContext
    page: Page
    base: str

    async def sign_in(self, login: str, password: str | None = None) -> None:
        await self.page.fill("#login", login)
        await self.page.fill("#password", password or PASSWORDS[login])
        await self.page.click("#sign-in button[type=submit]")

    async def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@contextlib.asynccontextmanager
async def tab(browser: Browser, base: str, *, locale: str = "en-US") -> AsyncIterator[Tab]:
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 860})
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: print("CONSOLE", msg.text))
        page.on("pageerror", lambda exc: print("PAGEERROR", exc))
        await page.goto(base + "/")
        yield Tab(context, page, base)
        assert not errors, f"the page raised: {errors}"
    finally:
        await context.close()


@contextlib.asynccontextmanager
async def signed_in(browser: Browser, base: str, login: str, *, locale: str = "en-US") -> AsyncIterator[Tab]:
    async with tab(browser, base, locale=locale) as t:
        await t.sign_in(login)
        await t.page.wait_for_selector("#app:not([hidden])")
        await t.page.wait_for_selector("#link-state[data-state=live]")
        yield t
