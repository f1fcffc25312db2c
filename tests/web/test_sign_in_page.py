"""Signing in on the page, in Chromium: the form, one answer for a wrong password and an unknown login,
the limit, and signing out (the old cookie no longer works)."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from tests.support.api import Api
from tests.web.conftest import tab

pytestmark = pytest.mark.browser


async def test_given_the_page_when_porlov_signs_in_with_his_password_then_he_sees_his_page(
    browser: Browser, site: Api
) -> None:
    async with tab(browser, site.base) as t:
        await expect(t.page.locator("#sign-in")).to_be_visible()
        await expect(t.page.locator("#app")).to_be_hidden()
        await t.sign_in("porlov")
        await expect(t.page.locator("#app")).to_be_visible()
        await expect(t.page.locator("#who")).to_have_text("Pavel Orlov (porlov)")
        await expect(t.page.locator("#my-extension")).to_have_text("201")
        await expect(t.page.locator("#link-state")).to_have_attribute("data-state", "live")


async def test_given_a_wrong_password_or_an_unknown_login_then_the_page_says_the_same_sentence(
    browser: Browser, site: Api
) -> None:
    async with tab(browser, site.base) as t:
        error = t.page.locator("#sign-in-error")
        await t.sign_in("porlov", "not-his-password")
        await expect(error).to_have_text("The login or the password is wrong.")
        said_for_wrong = await error.text_content()
        await t.page.evaluate("document.getElementById('sign-in-error').textContent = ''")
        await t.sign_in("nobody-here", "not-his-password")
        await expect(error).to_have_text("The login or the password is wrong.")
        assert await error.text_content() == said_for_wrong
        await expect(t.page.locator("#app")).to_be_hidden()


async def test_given_three_failures_then_even_the_right_password_is_refused_with_the_wait_named(
    browser: Browser, site: Api
) -> None:
    async with tab(browser, site.base) as t:
        error = t.page.locator("#sign-in-error")
        for n in range(3):
            await t.page.evaluate("document.getElementById('sign-in-error').textContent = ''")
            await t.sign_in("ivolkova", f"guess-number-{n}")
            await expect(error).to_have_text("The login or the password is wrong.")
        await t.sign_in("ivolkova")
        await expect(error).to_contain_text("Too many attempts. Try again in")
        await expect(t.page.locator("#app")).to_be_hidden()


async def test_given_porlov_signed_in_when_he_signs_out_then_his_old_cookie_no_longer_works(
    browser: Browser, site: Api
) -> None:
    async with tab(browser, site.base) as t:
        await t.sign_in("porlov")
        await expect(t.page.locator("#app")).to_be_visible()
        [cookie] = [c for c in await t.context.cookies() if c["name"] == "cti_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        await t.page.click("#sign-out")
        await expect(t.page.locator("#sign-in")).to_be_visible()
        await expect(t.page.locator("#app")).to_be_hidden()
        async with aiohttp.ClientSession() as http:
            headers = {"Cookie": f"cti_session={cookie['value']}"}
            async with http.get(site.url("/api/v1/session"), headers=headers) as resp:
                assert resp.status == 401
            async with http.get(site.url("/api/v1/purposes"), headers=headers) as resp:
                assert resp.status == 401
        await t.page.reload()
        await expect(t.page.locator("#sign-in")).to_be_visible()
