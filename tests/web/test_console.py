"""The reception console in Chromium, against the daemon with the simulator and mosquitto: a ring's card,
registering and transferring it (blind, attended completed and cancelled, refused), a shared number's
pick, the waiting queue's reminder, and a missed call called back."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, expect

from cti_daemon.ami.simulator import flows
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.crm.models import SubPurpose
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.browser import give_passwords
from tests.support.calls import until_async
from tests.support.mqtt import Subscriber
from tests.web.conftest import Tab, signed_in, tab

pytestmark = pytest.mark.browser

REMINDER_S = 1


@pytest.fixture
async def desk(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    await _second_level(db_url)
    token = new_token()
    config = daemon_config(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=db_url,
        http={"tokens_file": str(write_tokens(tmp_path, ("reception-console", token)))},
        routing={"queue_reminder_s": REMINDER_S, "transfer_confirm_s": 4.0},
    )
    for ext in ("100", "201"):
        sim.pbx.endpoints[ext].answer_after_s = None  # the test picks each phone up by hand
    async with running_api(config, token) as running:
        yield running
    sim.pbx.cancel_flows()


async def _second_level(db_url: str) -> None:
    """Service's second level as `cti-daemon import purposes` would set it, one of them retired."""
    store = open_store(db_url)
    try:
        async with store.session() as session, session.begin():
            session.add_all(
                [
                    SubPurpose(purpose_code="service", code="diagnostics", name="Diagnostics", position=1),
                    SubPurpose(purpose_code="service", code="warranty", name="Warranty repair", position=2),
                    SubPurpose(
                        purpose_code="service", code="retired", name="Retired", position=3, active=False
                    ),
                ]
            )
    finally:
        await store.dispose()


@contextlib.asynccontextmanager
async def console(browser: Browser, base: str) -> AsyncIterator[Tab]:
    async with tab(browser, base) as t:
        await t.page.set_viewport_size({"width": 1600, "height": 1000})
        await t.sign_in("asmirnova")
        await t.page.wait_for_selector("body.console-page")
        await t.page.wait_for_selector("#link-state[data-state=live]")
        await expect(t.page.locator("#board-rows tr")).to_have_count(4)
        yield t


async def _ring(
    sim: Sim, number: str, name: str = "", **kw: Any
) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    call = InboundCall(number, name, extension="100", ring_s=kw.pop("ring_s", 60.0), talk_s=None, **kw)
    task = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


def _card(t: Tab, handle: CallHandle) -> Locator:
    return t.page.locator(f'#calls .card[data-call-id="{handle.call_id}"]')


def _row(t: Tab, employee_id: str) -> Locator:
    return t.page.locator(f'#board-rows tr[data-employee="{employee_id}"]')


async def _answer_at_reception(t: Tab, sim: Sim, handle: CallHandle) -> Locator:
    card = _card(t, handle)
    await expect(card).to_be_visible()
    assert sim.pbx.pick_up("100")
    await expect(card).to_have_attribute("data-state", "talking")
    await card.locator("button.register-call").click()
    return card


async def _contact(desk: Api, contact_id: str) -> dict[str, Any]:
    status, body = await desk.get(f"/api/v1/contacts/{contact_id}")
    assert status == 200, body
    return dict(body)


async def _contact_of_call(desk: Api, call_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def registered() -> bool:
        _, body = await desk.get(f"/api/v1/contacts?call_id={call_id}")
        found.update((body.get("contacts") or [{}])[0])
        return bool(found)

    await until_async(registered, what=f"the contact of {call_id}")
    return found


async def _busy_desk(desk: Api, sim: Sim, broker: LocalBroker, seed: SeedSummary) -> None:
    """What a busy morning looks like on the board: agents signed in, presences with notes, 203 ringing."""
    async with Subscriber(broker.url, "cti/presence/#") as agent:
        for employee_id in ("e-201", "e-202", "e-203"):
            await agent.publish(f"cti/agents/{employee_id}/client", "online", retain=True)
    for employee_id, status, note in (
        ("e-201", "available", None),
        ("e-202", "busy", "at the showroom until 15:00"),
        ("e-203", "away", None),
    ):
        answer, body = await desk.send(
            "PUT", f"/api/v1/presence/{employee_id}", {"status": status, "note": note}
        )
        assert answer == 200, body
    sim.pbx.endpoints["203"].answer_after_s = None
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    call = InboundCall(seed.known_numbers[5], "", extension="203", ring_s=60.0, talk_s=None)
    sim.pbx.spawn(place_inbound(sim.pbx, call, started=started))
    await asyncio.wait_for(started, 5)


async def test_given_a_ring_at_reception_when_registered_for_service_and_sent_blind_to_e201_then_201_pops_it(
    browser: Browser, desk: Api, sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[0]
    _, customer = await desk.get("/api/v1/customers/c-00001")
    car = customer["vehicles"][-1]
    async with console(browser, desk.base) as t, signed_in(browser, desk.base, "porlov") as pavel:
        _task, handle = await _ring(sim, raw, "Mikhail")
        card = _card(t, handle)
        # The "within a second": the card is on screen before a second has passed since the ring.
        await expect(card).to_be_visible(timeout=1000)
        await expect(card.locator(".customer-name")).to_have_text(customer["name"])
        await expect(_row(t, "e-100").locator(".badge")).to_have_attribute("data-status", "ringing")
        await t.shot("console-ringing.png")
        await _answer_at_reception(t, sim, handle)
        await expect(t.page.locator("#reg-customer .chosen-name")).to_have_text(customer["name"])
        await t.page.select_option("#reg-purpose", "service")
        subs = await t.page.eval_on_selector_all(
            "#reg-sub option", "os => os.map(o => o.value).filter(Boolean)"
        )
        assert subs == ["diagnostics", "warranty"], "active ones only"
        await t.page.select_option("#reg-sub", subs[0])
        await t.page.select_option("#reg-vehicle", car["id"])
        await t.page.select_option("#reg-employee", "e-201")
        await t.page.fill("#reg-description", "Clutch noise, wants a diagnosis this week")
        await t.shot("console-register.png")
        await t.page.click("#reg-save-transfer")
        status = t.page.locator("#transfer-box .transfer-status")
        await expect(status).to_have_attribute("data-status", "ringback")
        await t.shot("console-transfer.png")
        pop = pavel.page.locator(f'.card[data-call-id="{handle.call_id}"]')
        await expect(pop).to_contain_text("Clutch noise, wants a diagnosis this week")
        await expect(pop).to_contain_text(car["vin"])
        await expect(pop.locator(".row", has_text=car["vin"]).locator("dt")).to_have_text(
            "Car (chosen by reception)"
        )
        assert sim.pbx.pick_up("201")
        await expect(status).to_have_attribute("data-status", "completed")
        line = _row(t, "e-201").locator("td.line")
        await expect(line.locator(".badge")).to_have_attribute("data-status", "talking")
        await expect(line.locator(".badge")).to_have_text("talking")
        await expect(line.locator(".line-caller")).to_have_text(customer["name"])
        await _busy_desk(desk, sim, broker, seeded_sqlite[1])
        await expect(_row(t, "e-202").locator(".presence-text")).to_have_text(
            "Busy — at the showroom until 15:00"
        )
        await expect(_row(t, "e-203").locator(".badge")).to_have_attribute("data-status", "ringing")
        await expect(_row(t, "e-201").locator(".dot")).to_have_text("signed in")
        await expect(_row(t, "e-201").locator(".counts")).to_have_text("1 / 0")  # the contact is his now
        await expect(t.page.locator("#reg-description")).to_have_value("")  # the form is done with the call
        await t.shot("console-board.png")
        contact = await _contact_of_call(desk, handle.call_id)
        assert (contact["purpose"]["code"], contact["purpose"]["sub"]) == ("service", subs[0])
        assert contact["vehicle_id"] == car["id"] and contact["responsible_employee_id"] == "e-201"


async def test_given_reception_busy_with_a_visitor_when_a_ringing_call_is_put_through_then_201_pops_it(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[2]
    async with console(browser, desk.base) as t, signed_in(browser, desk.base, "porlov") as pavel:
        _task, handle = await _ring(sim, raw)
        card = _card(t, handle)
        await expect(card).to_have_attribute("data-state", "ringing")
        # Nobody picks 100 up: the receptionist registers it for service and puts it through as it rings.
        await card.locator("button.register-call").click()
        await t.page.select_option("#reg-purpose", "service")
        await t.page.select_option("#reg-employee", "e-201")
        await t.page.fill("#reg-description", "Asks about the winter tyres")
        await t.page.click("#reg-transfer")
        status = t.page.locator("#transfer-box .transfer-status")
        await expect(status).to_have_attribute("data-status", "ringback")
        await expect(card).to_have_count(0)  # 100 no longer rings with it
        await expect(_row(t, "e-100").locator(".badge")).to_have_attribute("data-status", "ready")
        await expect(_row(t, "e-201").locator(".badge")).to_have_attribute("data-status", "ringing")
        pop = pavel.page.locator(f'.card[data-call-id="{handle.call_id}"]')
        await expect(pop).to_contain_text("Asks about the winter tyres")
        await t.shot("console-put-through-ringing.png")
        assert sim.pbx.pick_up("201")
        await expect(status).to_have_attribute("data-status", "completed")
        contact = await _contact_of_call(desk, handle.call_id)
        assert contact["responsible_employee_id"] == "e-201" and contact["status"] != "missed"


async def _attended(t: Tab, sim: Sim, raw: str) -> tuple[CallHandle, Locator]:
    _task, handle = await _ring(sim, raw)
    await _answer_at_reception(t, sim, handle)
    await t.page.select_option("#reg-purpose", "service")  # the ring may have guessed another one
    await t.page.select_option("#reg-employee", "e-201")
    await t.page.select_option("#reg-mode", "attended")
    await t.page.click("#reg-transfer")
    status = t.page.locator("#transfer-box .transfer-status")
    await expect(status).to_have_attribute("data-status", "ringback")
    await expect(t.page.locator("#transfer-box button.complete")).to_be_disabled()
    assert sim.pbx.pick_up("201")
    await expect(status).to_have_attribute("data-status", "answered")
    return handle, status


async def test_given_an_attended_transfer_then_complete_puts_the_caller_through_and_cancel_gives_him_back(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    known = seeded_sqlite[1].known_numbers
    async with console(browser, desk.base) as t:
        first, status = await _attended(t, sim, known[1])
        await t.page.click("#transfer-box button.complete")
        await expect(status).to_have_attribute("data-status", "completed")
        await expect(_row(t, "e-201").locator(".badge")).to_have_attribute("data-status", "talking")
        await expect(_card(t, first)).to_have_count(0)
        await t.page.click("#transfer-box button.quiet-dark")  # close the finished transfer
        flows.hangup(sim.pbx, first.caller, 16)  # the caller and 201 say goodbye
        await expect(_row(t, "e-201").locator(".badge")).to_have_attribute("data-status", "ready")

        second, status = await _attended(t, sim, known[2])
        await t.page.click("#transfer-box button.cancel")
        await expect(status).to_have_attribute("data-status", "abandoned")
        await expect(status).to_contain_text("The caller is back with you.")
        await expect(_card(t, second)).to_have_attribute("data-state", "talking")
        await expect(_row(t, "e-100").locator(".badge")).to_have_attribute("data-status", "talking")
        await expect(_row(t, "e-201").locator(".badge")).to_have_attribute("data-status", "ready")


async def test_given_201_offline_when_reception_transfers_to_him_then_a_sentence_says_why_and_the_call_stays(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    async with console(browser, desk.base) as t:
        sim.pbx.endpoints["201"].registered = False
        sim.pbx.refresh_endpoint("201")
        await expect(_row(t, "e-201").locator(".badge")).to_have_text("offline")
        _task, handle = await _ring(sim, seeded_sqlite[1].known_numbers[3])
        card = await _answer_at_reception(t, sim, handle)
        await t.page.select_option("#reg-purpose", "service")
        await t.page.select_option("#reg-employee", "e-201")
        await t.page.keyboard.press("Escape")
        await t.page.locator("body").press("t")  # the transfer key
        error = t.page.locator("#transfer-box .transfer-error")
        await expect(error).to_have_text("Pavel Orlov (201) is offline: the call stays with you.")
        await t.page.select_option("#lang", "ru")
        await expect(error).to_have_text("Pavel Orlov (201) не в сети: звонок остаётся у вас.")
        await expect(t.page.locator("#board-title")).to_have_text("Линии")
        await t.page.select_option("#lang", "en")
        await expect(card).to_have_attribute("data-state", "talking")
        await expect(_row(t, "e-100").locator(".badge")).to_have_attribute("data-status", "talking")
        _, live = await desk.get(f"/api/v1/calls/{handle.call_id}")
        assert live["talking"] == ["100"]
        # Seed 003's Transfer registered the call anyway (unidentified is fine), for 201 to handle.
        contact = await _contact_of_call(desk, handle.call_id)
        assert contact["responsible_employee_id"] == "e-201" and contact["purpose"]["code"] == "service"


async def _pick_second(
    browser: Browser, desk: Api, sim: Sim, shared: str
) -> tuple[str, list[dict[str, Any]]]:
    async with console(browser, desk.base) as t:
        task, handle = await _ring(sim, shared)
        card = _card(t, handle)
        choices = card.locator(".candidates .candidate")
        await expect(choices).to_have_count(2)
        _, pop_lookup = await desk.get(f"/api/v1/lookup?number={shared}")
        candidates = pop_lookup["candidates"]
        second = candidates[1]
        await choices.nth(1).locator("button.pick").click()
        await expect(choices.nth(1)).to_have_attribute("data-picked", "yes")
        contact = await _contact_of_call(desk, handle.call_id)

        async def confirmed() -> bool:
            return bool((await _contact(desk, contact["id"]))["customer_id"] == second["id"])

        await until_async(confirmed, what="the contact names the second candidate")
        sim.pbx.hangup(handle.caller, 16)
        task.cancel()
        return second["id"], candidates


async def test_given_a_shared_number_then_reception_picks_the_second_candidate_for_the_call(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    await _pick_second(browser, desk, sim, seeded_sqlite[1].shared_numbers[0])


async def test_given_reception_picked_the_second_candidate_then_the_next_ring_from_that_number_shows_it_first(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    shared = seeded_sqlite[1].shared_numbers[0]
    chosen, _ = await _pick_second(browser, desk, sim, shared)
    async with console(browser, desk.base) as t:
        _task, handle = await _ring(sim, shared)
        card = _card(t, handle)
        await expect(card).to_be_visible()
        await expect(card.locator(".customer-name")).to_have_text(
            (await desk.get(f"/api/v1/customers/{chosen}"))[1]["name"], timeout=3000
        )


async def test_given_a_queued_visit_when_the_reminder_interval_passes_then_the_queue_highlights_it(
    browser: Browser, desk: Api, sim: Sim
) -> None:
    _, customer = await desk.get("/api/v1/customers/c-00001")
    async with console(browser, desk.base) as t:
        await t.page.keyboard.press("/")  # the search key
        await expect(t.page.locator("#reg-search")).to_be_focused()
        await t.page.keyboard.type(customer["name"].split()[0][:5])
        result = t.page.locator(f'#reg-results button[data-customer="{customer["id"]}"]')
        if not await result.count():
            await t.page.fill("#reg-search", f"={customer['name']}")
        await result.click()
        await t.page.check("#register input[value=visit]")
        await t.page.select_option("#reg-purpose", "service")
        await t.page.check("#reg-queued")
        await t.page.fill("#reg-description", "Waiting for the service advisor")
        await t.page.click("#reg-save")
        item = t.page.locator("#queue .queued")
        await expect(item).to_have_count(1)
        await expect(item).to_have_attribute("data-reminded", "yes", timeout=REMINDER_S * 1000 + 5000)
        await expect(item.locator(".reminder-flag")).to_be_visible()
        await t.shot("console-queue.png")
        contact_id = await item.get_attribute("data-contact-id")
        await item.locator("select.assign-to").select_option("e-201")
        await item.locator("button.assign").click()
        await expect(item).to_have_count(0)  # given to 201: no longer waiting for anyone
        assigned = await _contact(desk, str(contact_id))
        assert (assigned["status"], assigned["responsible_employee_id"]) == ("assigned", "e-201")


async def test_given_a_missed_call_when_called_back_from_the_console_then_reception_rings_and_it_is_linked(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[4]
    async with console(browser, desk.base) as t:
        _task, handle = await _ring(sim, raw, answer=False, ring_s=0.3)
        item = t.page.locator("#missed .missed").first
        await expect(item).to_be_visible(timeout=8000)
        await expect(item.locator(".missed-why")).to_contain_text("nobody answered")
        missed_id = await item.get_attribute("data-contact-id")
        assert missed_id
        await item.locator("button.call-back").click()
        await expect(_row(t, "e-100").locator(".badge")).to_have_attribute("data-status", "ringing")
        assert [c for c in sim.pbx.channels.values() if c.device == "PJSIP/100" and c.state == 5]
        found: list[dict[str, Any]] = []

        async def linked() -> bool:
            status, listed = await desk.get("/api/v1/contacts?limit=50")
            assert status == 200, listed
            found[:] = [c for c in listed["contacts"] if c.get("answers_contact_id") == missed_id]
            return bool(found)

        await until_async(linked, what="an outbound contact answering the missed one")  # once the phone rang
        (callback,) = found
        assert callback["direction"] == "outbound" and callback["call_id"] != handle.call_id


async def test_given_a_reload_then_the_call_talking_at_reception_is_back_and_an_ended_one_is_not(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    known = seeded_sqlite[1].known_numbers
    async with console(browser, desk.base) as t:
        _task, ended = await _ring(sim, known[6])
        await _answer_at_reception(t, sim, ended)
        flows.hangup(sim.pbx, ended.caller, 16)
        await expect(_card(t, ended)).to_have_count(0)
        _task, talking = await _ring(sim, known[7])
        await _answer_at_reception(t, sim, talking)
        await t.page.reload()
        await t.page.wait_for_selector("#link-state[data-state=live]")
        await expect(_card(t, talking)).to_have_attribute("data-state", "talking")
        await expect(t.page.locator("#calls .card")).to_have_count(1)


async def test_given_201_busy_with_a_note_when_given_a_visit_then_reception_confirms_and_the_journal_has_it(
    browser: Browser, desk: Api
) -> None:
    status, _ = await desk.send(
        "PUT", "/api/v1/presence/e-201", {"status": "busy", "note": "no new customers"}
    )
    assert status == 200
    async with console(browser, desk.base) as t:
        await t.page.check("#register input[value=visit]")
        await t.page.select_option("#reg-purpose", "service")
        await t.page.fill("#reg-caller-name", "Walk-in, silver Octavia")
        await t.page.fill("#reg-caller-phone", "+7 916 555-01-02")
        await expect(t.page.locator("#reg-employee option[value=e-201]")).to_contain_text("no new customers")
        await t.page.select_option("#reg-employee", "e-201")
        await t.page.fill("#reg-description", "Brakes squeal")
        await t.page.click("#reg-save")
        dialog = t.page.locator("#confirm-dialog")
        await expect(dialog).to_contain_text("Pavel Orlov is Busy — no new customers")
        await t.page.click("#confirm-no")
        _, listed = await desk.get("/api/v1/contacts?employee=e-201&status=open")
        assert not [c for c in listed["contacts"] if c["description"] == "Brakes squeal"]
        await t.page.click("#reg-save")
        await t.page.click("#confirm-yes")
        await expect(t.page.locator("#reg-description")).to_have_value("")  # saved: the form is cleared

        await t.page.select_option("#jf-employee", "e-201")
        await t.page.click("#journal-filters button[type=submit]")
        row = t.page.locator("#journal-rows tr").first
        await expect(row).to_contain_text("Walk-in, silver Octavia")
        await row.locator("button.link").click()
        page = t.page.locator("#contact-dialog")
        await expect(page).to_contain_text("Brakes squeal")
        await page.locator("input").fill("Called him back: Thursday 10:00")
        await page.get_by_role("button", name="Add a note").click()
        await expect(page.locator(".notes")).to_contain_text("Called him back: Thursday 10:00")
        await expect(page.locator(".history")).to_contain_text("registered")
        await t.page.keyboard.press("Escape")
        await expect(page).to_be_hidden()

        _, customer = await desk.get("/api/v1/customers/c-00001")
        await t.page.select_option("#jf-employee", "")
        await t.page.fill("#jf-customer", customer["name"])
        await t.page.click("#journal-filters button[type=submit]")
        rows = t.page.locator("#journal-rows tr")
        await expect(rows.first.locator("td").nth(4)).to_have_text(customer["name"])
        names = await rows.evaluate_all("rs => rs.map(r => r.cells[4].textContent)")
        _, stored = await desk.get("/api/v1/contacts?customer=c-00001")
        assert names == [customer["name"]] * len(stored["contacts"]) and names


_OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll("body *")]
        .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > width + 1)
        .filter((e) => !e.closest(".scrolls"))
        .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)
        .slice(0, 8);
}"""


@pytest.mark.parametrize("width", [420, 800])
async def test_given_a_narrow_window_then_the_console_and_the_ringing_card_fit_its_width(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary], width: int
) -> None:
    """A phone or half a screen: every panel within the window (the tables scroll inside their own box),
    nothing cut off at the right."""
    number = seeded_sqlite[1].known_numbers[0]
    async with tab(browser, desk.base) as t:
        await t.page.set_viewport_size({"width": width, "height": 900})
        await t.sign_in("asmirnova")
        await t.page.wait_for_selector("#link-state[data-state=live]")
        _task, handle = await _ring(sim, number)
        card = _card(t, handle)
        await expect(card).to_be_visible()
        await expect(card.locator(".customer-name")).not_to_be_empty()
        await expect(card).to_contain_text("registered, follows the call")
        await expect(card).not_to_contain_text(re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-"))  # no contact id
        await t.shot(f"console-{width}px.png")
        assert await t.page.evaluate(_OVERFLOWING) == []
        assert await t.page.evaluate("document.documentElement.scrollWidth") <= width


async def test_given_a_russian_console_then_the_pbxs_missed_reason_is_said_in_russian(
    browser: Browser, desk: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    """The daemon stores the PBX's reason in English with a code and its figures; the page says it in the
    reader's language."""
    raw = seeded_sqlite[1].known_numbers[5]
    async with tab(browser, desk.base, locale="ru-RU") as t:
        await t.page.set_viewport_size({"width": 1600, "height": 1000})
        await t.sign_in("asmirnova")
        await t.page.wait_for_selector("#link-state[data-state=live]")
        _task, handle = await _ring(sim, raw, answer=False, ring_s=0.3)
        item = t.page.locator("#missed .missed").first
        await expect(item).to_be_visible(timeout=8000)
        await expect(item.locator(".missed-why")).to_contain_text("никто не ответил")
        await expect(item.locator(".missed-why")).not_to_contain_text("nobody")
        await t.shot("console-missed-ru.png")
        # The contact's page: the reason, and its history said by whom and what in Russian.
        await t.page.fill("#jf-call", handle.call_id)
        await t.page.click("#journal-filters button[type=submit]")
        # The call's one contact, once the filtered answer replaced the journal's first page.
        await expect(t.page.locator("#journal-rows tr")).to_have_count(1)
        await t.page.locator("#journal-rows tr").first.locator("button.link").click()
        history = t.page.locator("#contact-dialog .history")
        await expect(history).to_contain_text("АТС · зарегистрирован")
        await expect(history).to_contain_text("АТС · пропущен")
        await expect(t.page.locator("#contact-dialog")).to_contain_text("никто не ответил")
