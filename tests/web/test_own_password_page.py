"""Changing one's own password from the page, by keyboard, in Chromium against the daemon: a wrong
current password and two new ones that differ are said as sentences; the change keeps this page signed
in, and the next sign-in takes the new password only."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.support.api import Api
from tests.support.browser import PASSWORDS
from tests.web.conftest import signed_in, tab

pytestmark = pytest.mark.browser

NEW = "pavels-own-Pa55word"


async def test_given_pavel_on_his_page_when_he_changes_his_password_by_keyboard_then_it_is_the_one(
    browser: Browser, site: Api
) -> None:
    async with signed_in(browser, site.base, "porlov") as t:
        page = t.page
        await page.get_by_role("button", name="Password").click()
        dialog = page.locator("#password-dialog")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#pw-current")).to_be_focused()
        await page.keyboard.type("not-my-password")
        await page.keyboard.press("Tab")
        await page.keyboard.type(NEW)
        await page.keyboard.press("Tab")
        await page.keyboard.type(NEW + "x")
        await page.keyboard.press("Enter")
        await expect(dialog.locator(".field-error")).to_have_text("The two new passwords differ.")
        await page.locator("#pw-repeat").fill(NEW)
        await page.keyboard.press("Enter")
        await expect(dialog.locator(".field-error")).to_have_text("The current password is wrong.")
        await page.locator("#pw-current").fill(PASSWORDS["porlov"])
        await page.keyboard.press("Enter")
        await expect(dialog.get_by_role("status")).to_contain_text("Your password is changed")
        await t.shot("password-changed.png")
        await page.keyboard.press("Enter")  # the Close button has the focus
        await expect(dialog).to_have_count(0)
        await page.reload()
        await page.wait_for_selector("#app:not([hidden])")  # still signed in here
    async with tab(browser, site.base) as t:
        await t.sign_in("porlov", PASSWORDS["porlov"])
        await expect(t.page.locator("#sign-in-error")).not_to_be_empty()
        await t.page.fill("#password", NEW)
        await t.page.click("#sign-in button[type=submit]")
        await t.page.wait_for_selector("#app:not([hidden])")


async def test_given_the_console_in_russian_then_the_password_dialog_speaks_russian(
    browser: Browser, site: Api
) -> None:
    async with tab(browser, site.base, locale="ru-RU") as t:
        await t.sign_in("asmirnova")
        await t.page.wait_for_selector("body.console-page")
        await t.page.get_by_role("button", name="Пароль").click()
        dialog = t.page.locator("#password-dialog")
        await expect(dialog.get_by_role("heading")).to_have_text("Смена пароля")
        await expect(dialog.get_by_text("Текущий пароль")).to_be_visible()
        await t.page.keyboard.press("Escape")
        await expect(dialog).to_have_count(0)
