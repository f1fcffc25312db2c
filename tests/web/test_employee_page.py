"""The employee's page in Chromium, against the daemon with the simulator and mosquitto: the pop while the
phone rings, its update and its dismissal, my contacts, my presence, and nobody else's pop."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from yarl import URL

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api
from tests.support.mqtt import Subscriber
from tests.web.conftest import signed_in

pytestmark = pytest.mark.browser

ANSWERED_ELSEWHERE = 26  # the Hangup cause Asterisk gives a ring group's losing legs


async def _ring(sim: Sim, call: InboundCall) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


async def _customer(site: Api, customer_id: str) -> dict[str, Any]:
    status, body = await site.get(f"/api/v1/customers/{customer_id}")
    assert status == 200
    return dict(body)


async def test_given_a_ring_at_201_then_e201s_card_shows_name_and_plate_and_closes_on_answer_elsewhere(
    browser: Browser, site: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[0]
    customer = await _customer(site, "c-00001")
    plate = customer["vehicles"][0]["plate"]
    async with signed_in(browser, site.base, "porlov") as t:
        task, handle = await _ring(sim, InboundCall(raw, "Mikhail", extension="201", ring_s=60.0, talk_s=0.1))
        card = t.page.locator(f'.card[data-call-id="{handle.call_id}"]')
        await expect(card).to_be_visible()
        await expect(card.locator(".customer-name")).to_have_text(customer["name"])
        await expect(card.locator(".plate").first).to_have_text(plate)
        await expect(card).to_contain_text(customer["vehicles"][0]["vin"])
        await expect(card).to_have_attribute("data-state", "ringing")
        await expect(t.page.locator("#line-status")).to_have_attribute("data-status", "ringing")
        await t.shot("pop-known-customer.png")
        assert handle.dest is not None
        sim.pbx.hangup(handle.dest, ANSWERED_ELSEWHERE)
        await expect(card).to_have_attribute("data-state", "closed")
        await expect(card.locator(".card-state")).to_have_text("Answered elsewhere")
        task.cancel()


async def test_given_an_unknown_caller_whose_identity_then_changes_then_the_card_turns_into_the_customer(
    browser: Browser, site: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    seed = seeded_sqlite[1]
    customer = await _customer(site, "c-00001")
    async with signed_in(browser, site.base, "porlov", locale="ru-RU") as t:
        await expect(t.page.locator("#pops-title")).to_have_text("Звонки мне")
        await t.page.select_option("#lang", "en")
        await expect(t.page.locator("#pops-title")).to_have_text("Calls for me")
        task, handle = await _ring(
            sim, InboundCall(seed.unknown_numbers[0], "", extension="201", ring_s=60.0, talk_s=0.1)
        )
        card = t.page.locator(f'.card[data-call-id="{handle.call_id}"]')
        await expect(card.locator("h3")).to_have_text("Unknown caller")
        await expect(card).to_contain_text("The number is not in the customer base.")
        await t.shot("pop-unknown-caller.png")
        sim.pbx.caller_id(handle.caller, seed.known_numbers[0], "Mikhail")
        await expect(card.locator(".customer-name")).to_have_text(customer["name"])
        await expect(card).to_have_attribute("data-state", "ringing")
        task.cancel()


async def _contact_for(site: Api, employee_id: str | None, description: str, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "visit",
        "purpose": "service",
        "customer_id": "c-00001",
        "responsible_employee_id": employee_id,
        "description": description,
        **more,
    }
    status, saved = await site.send("POST", "/api/v1/contacts", body)
    assert status == 201, saved
    return dict(saved)


async def test_given_a_contact_assigned_to_e201_then_a_cyrillic_note_round_trips_and_he_finalizes_it(
    browser: Browser, site: Api
) -> None:
    older = await _contact_for(site, "e-201", "Замена масла, ждёт звонка")
    async with signed_in(browser, site.base, "porlov") as t:
        first = t.page.locator(f'.contact[data-contact-id="{older["id"]}"]')
        await expect(first).to_be_visible()  # from the snapshot
        contact = await _contact_for(site, "e-201", "Стучит подвеска, просит перезвонить")
        item = t.page.locator(f'.contact[data-contact-id="{contact["id"]}"]')
        await expect(item).to_be_visible()  # from the stream, as it happened
        customer = await _customer(site, "c-00001")
        await expect(item.locator("h3")).to_have_text(customer["name"])
        await expect(first.locator("h3")).to_have_text(customer["name"])
        ids = await t.page.eval_on_selector_all(".contact", "els => els.map(e => e.dataset.contactId)")
        assert ids.index(contact["id"]) < ids.index(older["id"]), "newest first"
        note = "Клиент перезвонит завтра после 10:00 — «ёлка»"
        await item.locator("textarea").fill(note)
        await item.locator("textarea").press("Tab")
        await t.page.keyboard.press("Enter")  # the Add button, reached by keyboard
        await expect(item.locator(".note-text")).to_have_text(note)
        status, stored = await site.get(f"/api/v1/contacts/{contact['id']}")
        assert status == 200 and [n["text"] for n in stored["notes"]] == [note]
        assert stored["notes"][0]["author"] == "porlov"
        await t.shot("contacts.png")
        await item.locator("button.finalize").click()
        await expect(item).to_have_count(0)
        status, stored = await site.get(f"/api/v1/contacts/{contact['id']}")
        assert stored["status"] == "finalized" and stored["finalized_by"] == "porlov"
        await expect(first).to_be_visible()


async def test_given_presence_set_on_the_page_then_the_retained_presence_topic_of_e201_says_it(
    browser: Browser, site: Api, broker: LocalBroker
) -> None:
    async with signed_in(browser, site.base, "porlov") as t:
        await t.page.select_option("#presence-status", "busy")
        await t.page.fill("#presence-note", "на обеде до 14:00")
        await t.page.click("#presence-form button[type=submit]")
        await expect(t.page.locator("#presence-seen")).to_contain_text("на обеде до 14:00")
    async with Subscriber(broker.url, "cti/presence/#") as later:  # a client that comes later
        seen = await later.wait_for("cti/presence/e-201", status="busy")
        assert seen.retain and seen.payload["note"] == "на обеде до 14:00"


async def test_given_e201_and_e202_signed_in_when_201_rings_then_e202_never_receives_the_pop(
    browser: Browser, site: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[0]
    async with (
        signed_in(browser, site.base, "porlov") as pavel,
        signed_in(browser, site.base, "ivolkova") as irina,
    ):
        # Irina's own cookie on the stream itself: everything it carries during the ring is recorded.
        cookies = {c["name"]: c["value"] for c in await irina.context.cookies()}
        jar_headers = {"Cookie": f"cti_session={cookies['cti_session']}", "Origin": site.base}
        seen: list[dict[str, Any]] = []
        async with site.http.ws_connect(URL(site.url("/api/v1/stream")), headers=jar_headers) as ws:
            snap = json.loads((await ws.receive()).data)
            assert snap["topic"] == "snapshot" and snap["payload"]["me"]["employee_id"] == "e-202"
            task, handle = await _ring(
                sim, InboundCall(raw, "Mikhail", extension="201", ring_s=2.0, talk_s=0.5)
            )
            await expect(pavel.page.locator(f'.card[data-call-id="{handle.call_id}"]')).to_be_visible()
            await asyncio.wait_for(task, 15)
            with_ended = False
            while not with_ended:
                msg = await asyncio.wait_for(ws.receive(), 5)
                env = json.loads(msg.data)
                seen.append(env)
                with_ended = env["topic"] == "cti/lines/201" and env["payload"]["status"] == "ready"
        assert seen, "Irina's stream carried nothing at all"
        assert not [e for e in seen if e["topic"].startswith("cti/agents/e-201/")]
        assert not [e for e in seen if e["topic"].startswith("cti/calls/")]  # not at her extension
        await expect(irina.page.locator(".card")).to_have_count(0)
        assert await pavel.page.locator(".card").count() == 1
        # Nor do the GET routes show her his call, his line or his contact.
        his = await _contact_for(site, "e-201", "только для Павла")
        for path in ("/api/v1/calls", "/api/v1/lines/201", f"/api/v1/contacts/{his['id']}"):
            answer = await irina.page.request.get(site.url(path))
            assert answer.status == 403, (path, answer.status)
            assert (await answer.json())["error"]["code"] == "forbidden"


BACKGROUND_TAB = """
Object.defineProperty(document, "hidden", { get: () => true });
window.__notes = [];
window.__chimes = 0;
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notes.push({ title, body: options.body }); }
  addEventListener() {}
};
window.AudioContext = class {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() {
    window.__chimes += 1;
    return { frequency: {}, connect: (g) => g, start() {}, stop() {} };
  }
  createGain() {
    return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (d) => d };
  }
};
true;  // not the class: Playwright would call a function the script ends with
"""


async def test_given_the_tab_in_the_background_when_201_rings_then_a_notification_and_a_chime_announce_it(
    browser: Browser, site: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[0]
    customer = await _customer(site, "c-00001")
    async with signed_in(browser, site.base, "porlov") as t:
        await t.page.evaluate(BACKGROUND_TAB)
        task, handle = await _ring(sim, InboundCall(raw, "Mikhail", extension="201", ring_s=30.0, talk_s=0.1))
        await expect(t.page.locator(f'.card[data-call-id="{handle.call_id}"]')).to_be_visible()
        await t.page.wait_for_function("window.__notes.length === 1")
        note = await t.page.evaluate("window.__notes[0]")
        assert note == {"title": f"Call: {customer['name']}", "body": "+7" + raw[1:]}
        assert await t.page.evaluate("window.__chimes") == 2  # two tones
        task.cancel()


async def test_given_a_409_from_the_journal_then_the_page_says_what_the_contact_may_still_become(
    browser: Browser, site: Api
) -> None:
    said = """(failure) => import('/static/contacts.js').then((m) => m.sayError(failure))"""
    refused = {"status": 409, "code": "transition_not_allowed", "allowed": ["assigned", "postponed"]}
    closed = {"status": 409, "code": "transition_not_allowed", "allowed": []}
    async with signed_in(browser, site.base, "porlov") as t:
        assert await t.page.evaluate(said, refused) == (
            "This cannot be done now; the contact can only become: assigned, postponed."
        )
        assert (
            await t.page.evaluate(said, closed) == "This contact is closed; nothing more can be done with it."
        )
        await t.page.select_option("#lang", "ru")
        await expect(t.page.locator("#pops-title")).to_have_text("Звонки мне")
        assert await t.page.evaluate(said, refused) == (
            "Сейчас это сделать нельзя; обращение может стать только: назначено, отложено."
        )


async def test_given_a_contact_waiting_in_his_purposes_group_then_e201_takes_it_and_postpones_it_to_e203(
    browser: Browser, site: Api
) -> None:
    waiting = await _contact_for(site, None, "ждёт кого-нибудь из сервиса")
    assert waiting["purpose_group"] == "service" and waiting["responsible_employee_id"] is None
    async with signed_in(browser, site.base, "porlov") as t:
        item = t.page.locator(f'.contact[data-contact-id="{waiting["id"]}"]')
        await expect(item.locator(".badge")).to_have_text("registered")
        await item.locator("button.take").click()
        await expect(item.locator(".badge")).to_have_text("in progress")
        _, stored = await site.get(f"/api/v1/contacts/{waiting['id']}")
        assert stored["status"] == "in_progress" and stored["responsible_employee_id"] == "e-201"
        await item.locator("summary").click()
        await item.locator('input[type="datetime-local"]').fill("2031-05-04T10:30")
        await item.locator('input[id^="reason-"]').fill("ждём запчасти")
        await item.locator("select").select_option("e-203")
        await item.locator('button[id^="postpone-save-"]').click()
        await expect(item).to_have_count(0)  # postponed to Sergey: no longer Pavel's
        _, stored = await site.get(f"/api/v1/contacts/{waiting['id']}")
        assert stored["status"] == "postponed" and stored["postponed"]["to"] == "e-203"
        assert stored["postponed"]["reason"] == "ждём запчасти"
        assert stored["postponed"]["until"].startswith("2031-05-04")


async def test_given_a_contact_with_a_number_when_e201_clicks_call_then_his_own_phone_rings_first(
    browser: Browser, site: Api, sim: Sim
) -> None:
    # The recording's own pace: at ten times it, 201's phone could ring and be answered between two of
    # the page checks on a loaded machine, and "ringing" never be seen.
    sim.pbx.speed = 1.0
    contact = await _contact_for(
        site, "e-201", "перезвонить", caller={"phone": "+79031234567", "name": "Олег"}
    )
    async with signed_in(browser, site.base, "porlov") as t:
        item = t.page.locator(f'.contact[data-contact-id="{contact["id"]}"]')
        await item.locator("button.dial").click()
        await expect(t.page.locator("#toast")).to_contain_text("Your phone rings first, then +79031234567")
        await expect(t.page.locator("#line-status")).to_have_attribute(
            "data-status", re.compile("ringing|talking")
        )
    sim.pbx.cancel_flows()


async def test_given_a_call_ringing_at_201_that_is_for_irina_when_pavel_puts_it_through_then_her_page_pops_it(
    browser: Browser, site: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    raw = seeded_sqlite[1].known_numbers[1]
    for extension in ("201", "202"):
        sim.pbx.endpoints[extension].answer_after_s = None
    async with (
        signed_in(browser, site.base, "porlov") as pavel,
        signed_in(browser, site.base, "ivolkova") as irina,
    ):
        _task, handle = await _ring(sim, InboundCall(raw, extension="201", ring_s=60.0, talk_s=None))
        card = pavel.page.locator(f'.card[data-call-id="{handle.call_id}"]')
        await expect(card).to_have_attribute("data-state", "ringing")
        # By keyboard: the card's button, then the colleague, then Enter.
        await card.locator("button.put-through").focus()
        await pavel.page.keyboard.press("Enter")
        dialog = pavel.page.locator("#put-through-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#pt-to option")).to_have_count(3)  # everyone with a phone but himself
        await dialog.locator("#pt-to").select_option("e-202")
        await pavel.shot("put-through.png")
        await pavel.page.keyboard.press("Tab")  # to "Put through"
        await pavel.page.keyboard.press("Enter")
        await expect(dialog).to_have_count(0)
        await expect(pavel.page.locator("#toast")).to_have_text("It rings at Irina Volkova's phone now.")
        await expect(card.locator(".card-state")).to_have_text("Transferred")
        theirs = irina.page.locator(f'.card[data-call-id="{handle.call_id}"]')
        await expect(theirs).to_have_attribute("data-state", "ringing")
        assert sim.pbx.pick_up("202")
        await expect(irina.page.locator("#line-status")).to_have_attribute("data-status", "talking")
