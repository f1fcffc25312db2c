"""Outbound calls in the journal (issue 14, item 3), on SQLite and PostgreSQL with the simulator: a
click to dial naming the missed call it returns registers an outbound contact linked to it; the PBX's
Dial gives its outcome (reached, busy) and times; a callback that reaches the caller closes their entry
on the callback list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.ami.simulator import flows, missed_calls
from cti_daemon.ami.simulator.pbx import Endpoint
from cti_daemon.ami.simulator.scenarios import InboundCall
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.desk import Desk, desk

CUSTOMER = "+79161234567"
ORIGINATE = "/api/v1/calls/originate"


@pytest.fixture
async def dial_desk(sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    sim.pbx.speed = 0.1
    # The customer's phone, reachable from the simulated PBX by its number.
    sim.pbx.endpoints[CUSTOMER] = Endpoint(CUSTOMER, "Ivan Petrov", answer_after_s=0.5)
    async with desk(
        ami_port=sim.port,
        mqtt_url=broker.url,
        store_url=store_url,
        tmp_path=tmp_path,
        routing={"transfer_confirm_s": 2.0},
    ) as d:
        yield d
    sim.pbx.cancel_flows()


async def _until(check: Callable[[], Any], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _contact(d: Desk, contact_id: str) -> dict[str, Any]:
    status, body = await d.api.get(f"/api/v1/contacts/{contact_id}")
    assert status == 200, body
    return dict(body)


async def _missed_call(d: Desk, sim: Sim) -> str:
    await missed_calls.missed_at_employee(sim.pbx, InboundCall(CUSTOMER, "Ivan", extension="202", ring_s=1))
    await asyncio.sleep(0.1)
    await d.api.daemon.pops.idle()
    await d.api.daemon.call_facts.idle()
    _, listed = await d.api.get("/api/v1/callbacks")
    [entry] = listed["callbacks"]
    return str(entry["last_contact_id"])


async def test_given_a_callback_by_click_to_dial_that_reaches_the_caller_then_the_entry_closes(
    dial_desk: Desk, sim: Sim
) -> None:
    missed_id = await _missed_call(dial_desk, sim)
    status, body = await dial_desk.api.send(
        "POST", ORIGINATE, {"from_extension": "201", "to_number": CUSTOMER, "contact_id": missed_id}
    )
    assert status in (201, 202), body
    assert body["answers_contact_id"] == missed_id and body["contact_id"]
    outbound_id = body["contact_id"]

    async def talking() -> bool:
        return any(c.device == f"PJSIP/{CUSTOMER}" and c.state == 6 for c in sim.pbx.channels.values())

    await _until(talking)
    await asyncio.sleep(0.3)
    customer = next(c for c in sim.pbx.channels.values() if c.device == f"PJSIP/{CUSTOMER}")
    flows.hangup(sim.pbx, customer, 16)

    async def ended() -> bool:
        return (await _contact(dial_desk, outbound_id))["call"]["outcome"] is not None

    await _until(ended)
    await dial_desk.api.daemon.call_facts.idle()
    outbound = await _contact(dial_desk, outbound_id)
    assert outbound["direction"] == "outbound" and outbound["answers_contact_id"] == missed_id
    assert outbound["call"]["outcome"] == "reached" and outbound["call"]["answered_by"] == "e-201"
    assert outbound["call"]["talk_s"] is not None and outbound["status"] == "finalized"
    missed = await _contact(dial_desk, missed_id)
    assert missed["callback"]["kind"] == "callback" and missed["callback"]["contact_id"] == outbound_id
    _, listed = await dial_desk.api.get("/api/v1/callbacks")
    assert listed["callbacks"] == []


async def test_given_a_busy_number_then_the_outbound_contact_says_busy_and_the_entry_stays(
    dial_desk: Desk, sim: Sim
) -> None:
    missed_id = await _missed_call(dial_desk, sim)
    sim.pbx.endpoints[CUSTOMER].busy = True
    status, body = await dial_desk.api.send(
        "POST", ORIGINATE, {"from_extension": "201", "to_number": CUSTOMER, "contact_id": missed_id}
    )
    assert status in (201, 202), body

    async def ended() -> bool:
        return (await _contact(dial_desk, body["contact_id"]))["call"]["outcome"] is not None

    await _until(ended)
    assert (await _contact(dial_desk, body["contact_id"]))["call"]["outcome"] == "busy"
    _, listed = await dial_desk.api.get("/api/v1/callbacks")
    assert [e["last_contact_id"] for e in listed["callbacks"]] == [missed_id]


async def test_given_an_unknown_contact_to_answer_then_404_and_nothing_is_dialled(
    dial_desk: Desk, sim: Sim
) -> None:
    status, body = await dial_desk.api.send(
        "POST", ORIGINATE, {"from_extension": "201", "to_number": CUSTOMER, "contact_id": "no-such"}
    )
    assert status == 404 and body["error"]["field"] == "contact_id"
    assert sim.server.received["originate"] == 0
