"""Every missed call and the callback list (issue 14, item 2), on SQLite and PostgreSQL, with the
simulator's scenarios over TCP: a call that rang an employee unanswered and a queue caller who gave up
are missed contacts with reason and wait; the callback list merges them per number, newest first; an
entry closes once the caller is answered later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.ami.simulator import missed_calls
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.crm.identify import Identification
from cti_daemon.crm.store import StoreError
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.desk import Desk, desk

ONE, TWO = "+79161234567", "+79035550101"


@pytest.fixture
async def callback_desk(sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    sim.pbx.speed = 0.1
    async with desk(ami_port=sim.port, mqtt_url=broker.url, store_url=store_url, tmp_path=tmp_path) as d:
        yield d
    sim.pbx.cancel_flows()


async def _settled(d: Desk) -> None:
    await asyncio.sleep(0.1)
    await d.api.daemon.pops.idle()
    await d.api.daemon.call_facts.idle()
    await d.api.daemon.ring_contacts.idle()


async def _callbacks(d: Desk) -> list[dict[str, Any]]:
    status, body = await d.api.get("/api/v1/callbacks", token=d.reception)
    assert status == 200, body
    return list(body["callbacks"])


async def test_given_a_call_at_an_employee_nobody_answered_then_it_is_a_missed_contact_to_call_back(
    callback_desk: Desk, sim: Sim
) -> None:
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(ONE, "Ivan", extension="201", ring_s=2))
    await _settled(callback_desk)
    [entry] = await _callbacks(callback_desk)
    assert entry["number"] == ONE and entry["count"] == 1
    assert entry["responsible_employee_id"] == "e-201" and entry["last_outcome"] == "missed"
    _, contact = await callback_desk.api.get(f"/api/v1/contacts/{entry['last_contact_id']}")
    assert contact["status"] == "missed" and "201" in contact["missed_reason"]
    [missed] = [h["data"] for h in contact["history"] if h["kind"] == "missed"]
    assert missed["code"] == "unanswered" and missed["extensions"] == ["201"]  # for the pages' catalogs
    assert contact["call"]["outcome"] == "missed" and contact["call"]["wait_s"] is not None
    assert (
        contact["call"]["rang_at"] and contact["call"]["ended_at"] and contact["call"]["answered_at"] is None
    )


async def test_given_a_customer_missed_at_an_employee_then_the_callback_names_the_customer(
    callback_desk: Desk, sim: Sim
) -> None:
    known = callback_desk.seed.known_numbers[0]
    _, looked_up = await callback_desk.api.get("/api/v1/lookup", params={"number": known})
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(known, extension="202", ring_s=1))
    await _settled(callback_desk)
    [entry] = await _callbacks(callback_desk)
    assert entry["customer_id"] == looked_up["customer"]["id"]  # reception sees whom to call back
    _, contact = await callback_desk.api.get(f"/api/v1/contacts/{entry['last_contact_id']}")
    assert contact["customer_id"] == looked_up["customer"]["id"] and contact["candidate_ids"] == []


async def test_given_a_shared_number_missed_at_an_employee_then_every_owner_is_a_candidate_none_chosen(
    callback_desk: Desk, sim: Sim
) -> None:
    shared = callback_desk.seed.shared_numbers[0]
    _, looked_up = await callback_desk.api.get("/api/v1/lookup", params={"number": shared})
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(shared, extension="201", ring_s=1))
    await _settled(callback_desk)
    [entry] = await _callbacks(callback_desk)
    _, contact = await callback_desk.api.get(f"/api/v1/contacts/{entry['last_contact_id']}")
    owners = [c["id"] for c in looked_up["candidates"]]  # in the pop's order, the guess first
    assert len(owners) == 2 and contact["customer_id"] is None and contact["candidate_ids"] == owners
    assert contact["customer_guess"] == looked_up["customer"]["id"]


async def test_given_identification_failing_when_a_call_is_missed_at_an_employee_then_it_is_kept_unidentified(
    callback_desk: Desk, sim: Sim
) -> None:
    async def failing(_number: str) -> Identification:
        raise StoreError("the customer store timed out")

    callback_desk.api.daemon.call_facts._identify = failing
    known = callback_desk.seed.known_numbers[0]
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(known, extension="202", ring_s=1))
    await _settled(callback_desk)
    [entry] = await _callbacks(callback_desk)
    assert entry["customer_id"] is None and entry["responsible_employee_id"] == "e-202"


async def test_given_a_queue_caller_who_gave_up_then_it_is_an_abandoned_missed_contact(
    callback_desk: Desk, sim: Sim
) -> None:
    await missed_calls.queue_abandon(sim.pbx, InboundCall(TWO, ring_s=2), queue="service", member="201")
    await _settled(callback_desk)
    [entry] = await _callbacks(callback_desk)
    assert entry["number"] == TWO and entry["last_outcome"] == "abandoned"
    assert "queue service" in entry["last_reason"]
    _, contact = await callback_desk.api.get(f"/api/v1/contacts/{entry['last_contact_id']}")
    [missed] = [h["data"] for h in contact["history"] if h["kind"] == "missed"]
    assert missed["code"] == "abandoned" and missed["queue"] == "service"  # for the pages' catalogs
    assert missed["waited_s"] == contact["call"]["wait_s"] and missed["reason"] == contact["missed_reason"]


async def test_given_missed_calls_of_two_numbers_then_merged_per_number_newest_first_an_answer_closes_one(
    callback_desk: Desk, sim: Sim
) -> None:
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(ONE, extension="201", ring_s=1))
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(TWO, extension="202", ring_s=1))
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(ONE, extension="201", ring_s=1))
    await _settled(callback_desk)
    entries = await _callbacks(callback_desk)
    assert [(e["number"], e["count"]) for e in entries] == [(ONE, 2), (TWO, 1)]
    # The caller gets through to reception: their entry closes by itself.
    await place_inbound(sim.pbx, InboundCall(ONE, extension="100", ring_s=1, talk_s=1))
    await _settled(callback_desk)
    assert [e["number"] for e in await _callbacks(callback_desk)] == [TWO]
    _, closed = await callback_desk.api.get(f"/api/v1/contacts/{entries[0]['last_contact_id']}")
    assert closed["callback"]["kind"] == "answered"


async def test_given_a_colleagues_call_nobody_answered_then_it_is_no_callback_to_make(
    callback_desk: Desk, sim: Sim
) -> None:
    await missed_calls.missed_at_employee(sim.pbx, InboundCall("202", "Irina", extension="201", ring_s=1))
    await _settled(callback_desk)
    assert await _callbacks(callback_desk) == []
