"""The accounts page in Chromium, as the desk's administrator uses it: from the console's link, a new
password for someone who forgot theirs (by keyboard, in a dialog), a role, disabling someone who left;
the sentences in English and Russian; their own account cannot be locked out; reception is refused the
page and never shown the link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from cti_daemon.crm import accounts
from cti_daemon.crm.models import Employee
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import PASSWORDS, give_passwords, page
from tests.web.conftest import tab

pytestmark = pytest.mark.browser

ADMIN, ADMIN_PASSWORD = "slebedev", "sergey-Pa55-203"
NEW = "irina-New-Pa55word"


@pytest.fixture
async def desk(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url, {**PASSWORDS, ADMIN: ADMIN_PASSWORD})
    store = open_store(db_url)
    try:
        assert await accounts.set_role(store, ADMIN, "admin")
        async with store.session() as session, session.begin():  # a new hire with no account yet
            session.add(Employee(id="e-204", name="Olga Kuznetsova", extension="204"))
    finally:
        await store.dispose()
    token = new_token()
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(write_tokens(tmp_path, ("ops", token)))},
    )
    async with running_api(config, token) as running:
        yield running


async def test_given_the_admin_when_irina_forgot_her_password_and_pavel_left_then_the_page_does_both(
    browser: Browser, desk: Api
) -> None:
    async with tab(browser, desk.base) as t:
        await t.page.set_viewport_size({"width": 1400, "height": 900})
        await t.sign_in(ADMIN, ADMIN_PASSWORD)
        await t.page.wait_for_selector("body.console-page")
        await t.page.click("#accounts-link")
        await t.page.wait_for_selector("body.accounts-page[data-ready='1']")
        irina = t.page.locator('tr[data-login="ivolkova"]')
        await expect(irina.locator("th")).to_have_text("Irina Volkova")

        # A new password for Irina, by keyboard: the dialog opens on its first field.
        await irina.locator("button.set-password").focus()
        await t.page.keyboard.press("Enter")
        dialog = t.page.locator("#account-password-dialog")
        await expect(dialog).to_be_visible()
        await t.page.keyboard.type("too-short")
        await t.page.keyboard.press("Tab")
        await t.page.keyboard.type("too-short")
        await t.page.keyboard.press("Enter")
        await expect(dialog.locator(".field-error")).to_contain_text("At least 10 characters")
        await dialog.locator("#ap-new").fill(NEW)
        await dialog.locator("#ap-repeat").fill(NEW)
        await t.page.keyboard.press("Enter")
        await expect(dialog).to_have_count(0)
        said = t.page.locator("#accounts-said")
        await expect(said).to_have_text("Irina Volkova has a new password; their sessions ended.")

        # Pavel left: disabled; Anna becomes an administrator.
        pavel = t.page.locator('tr[data-login="porlov"]')
        await pavel.locator("button.toggle").click()
        await expect(pavel).to_have_attribute("data-disabled", "yes")
        await expect(said).to_have_text("Pavel Orlov can no longer sign in.")
        await t.page.locator('tr[data-login="asmirnova"] select.role').select_option("admin")
        await expect(said).to_have_text("Anna Smirnova is now: Administrator. They sign in again.")
        await t.shot("accounts.png")

        # Not their own account: the select goes back to what the account still is, and a sentence says why.
        own = t.page.locator(f'tr[data-login="{ADMIN}"] select.role')
        await own.select_option("employee")
        error = t.page.locator("#accounts-error")
        await expect(error).to_contain_text("You cannot take the administrator role from your own account")
        await expect(own).to_have_value("admin")
        await t.page.select_option("#lang", "ru")
        await expect(error).to_contain_text("Нельзя снять роль администратора со своей учётной записи")
        await expect(t.page.locator("#accounts-heading")).to_have_text("Кто входит")
        await t.page.set_viewport_size({"width": 420, "height": 900})  # a phone-sized window, in Russian
        # Nothing runs off the right edge: the table scrolls inside its own box.
        assert await t.page.evaluate("document.documentElement.scrollWidth") <= 420
        await t.shot("accounts-420px-ru.png")

    async with page(desk.base) as later:
        assert (await later.sign_in("ivolkova", NEW))[0] == 200
        assert (await later.sign_in("porlov"))[0] == 401
    _, listed = await desk.get("/api/v1/accounts")
    roles = {a["login"]: (a["role"], a["disabled"]) for a in listed["accounts"]}
    assert roles["asmirnova"] == ("admin", False) and roles["porlov"] == ("employee", True)
    assert roles[ADMIN] == ("admin", False)


async def test_given_reception_then_no_accounts_link_and_the_page_is_refused(
    browser: Browser, desk: Api
) -> None:
    async with tab(browser, desk.base) as t:
        await t.sign_in("asmirnova")
        await t.page.wait_for_selector("#link-state[data-state=live]")
        await expect(t.page.locator("#reports-link")).to_be_visible()
        await expect(t.page.locator("#accounts-link")).to_be_hidden()
    async with page(desk.base) as anna:
        assert (await anna.sign_in("asmirnova"))[0] == 200
        async with anna.http.get(desk.base + "/accounts") as resp:
            assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    async with (
        page(desk.base) as nobody,
        nobody.http.get(desk.base + "/accounts", allow_redirects=False) as resp,
    ):
        assert resp.status == 303 and resp.headers["Location"] == "/"


async def test_given_a_new_hire_when_the_admin_gives_her_a_login_and_a_password_then_she_signs_in(
    browser: Browser, desk: Api
) -> None:
    async with tab(browser, desk.base) as t:
        await t.page.set_viewport_size({"width": 1400, "height": 900})
        await t.sign_in(ADMIN, ADMIN_PASSWORD)
        await t.page.wait_for_selector("body.console-page")
        await t.page.goto(desk.base + "/accounts")
        await t.page.wait_for_selector("body.accounts-page[data-ready='1']")
        await expect(t.page.locator("#new-employee option")).to_have_count(1)  # only Olga has no account
        await t.page.fill("#new-login", "porlov")  # taken
        await t.page.click("#new-account button[type=submit]")
        await expect(t.page.locator("#new-account-error")).to_have_text(
            "The login porlov is someone else's: choose another."
        )
        await t.page.fill("#new-login", "okuznetsova")
        await t.page.select_option("#new-role", "reception")
        await t.page.press("#new-login", "Enter")
        row = t.page.locator('tr[data-login="okuznetsova"]')
        await expect(row.locator("th")).to_have_text("Olga Kuznetsova")
        await expect(row.locator("select.role")).to_have_value("reception")
        await expect(t.page.locator("#accounts-said")).to_contain_text(
            "Olga Kuznetsova signs in as okuznetsova"
        )
        await expect(t.page.locator("#new-account-none")).to_be_visible()  # nobody else is left
        await expect(row.locator("button.set-password")).to_be_focused()  # the next step, by keyboard
        await t.page.keyboard.press("Enter")
        await t.page.locator("#ap-new").fill(NEW)
        await t.page.locator("#ap-repeat").fill(NEW)
        await t.page.keyboard.press("Enter")
        await expect(t.page.locator("#account-password-dialog")).to_have_count(0)
    async with page(desk.base) as olga:
        status, body = await olga.sign_in("okuznetsova", NEW)
        assert status == 200 and body["role"] == "reception"
