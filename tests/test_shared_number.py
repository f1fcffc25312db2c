"""A number several customers own: the pop shows the most likely first and says it is a guess, the ring's
contact records the same guess unconfirmed, and once reception confirms who called, the next ring from
that number shows that customer first. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api, reception_api
from tests.support.mqtt import Received, Subscriber


async def _answered_call(sim: Sim, number: str) -> CallHandle:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    sim.pbx.spawn(place_inbound(sim.pbx, InboundCall(number, ring_s=0.1, talk_s=0.5), started=started))
    return await asyncio.wait_for(started, 5)


async def _pop(agents: Subscriber, call_id: str) -> Received:
    return await agents.wait_for("cti/agents/e-100/popup", type="popup", call_id=call_id)


async def _contact_of(api: Api, call_id: str) -> dict[str, Any]:
    for _ in range(200):
        _, found = await api.get(f"/api/v1/contacts?call_id={call_id}")
        if found["contacts"]:
            return dict(found["contacts"][0])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no contact for call {call_id}")


async def test_given_a_shared_number_then_pop_and_contact_agree_on_the_guess_and_the_confirmed_one_leads_next(
    sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path
) -> None:
    store = open_store(store_url)
    try:
        await store.create_schema()
        seed = await seed_demo(store)
    finally:
        await store.dispose()
    number = seed.shared_numbers[0]
    async with (
        Subscriber(broker.url, "cti/#") as agents,
        reception_api(ami_port=sim.port, mqtt_url=broker.url, db_url=store_url, tmp_path=tmp_path) as api,
    ):
        first = await _answered_call(sim, number)
        pop = (await _pop(agents, first.call_id)).payload
        guess = pop["customer"]["id"]
        owners = [c["id"] for c in pop["candidates"]]
        assert pop["identified"] is True and pop["customer_guess"] is True
        assert len(owners) == 2 and owners[0] == guess
        contact = await _contact_of(api, first.call_id)
        assert contact["id"] == pop["contact_id"]
        assert contact["customer_id"] is None, "not confirmed: nobody said which owner called"
        assert contact["customer_guess"] == guess and contact["candidate_ids"] == owners
        assert contact["history"][0]["data"]["customer_guess"] == guess

        other = owners[1]  # reception learns it was the other owner
        status, confirmed = await api.send(
            "PATCH", f"/api/v1/contacts/{contact['id']}", {"customer_id": other}
        )
        assert status == 200, confirmed
        assert confirmed["customer_id"] == other and confirmed["customer_guess"] is None

        second = await _answered_call(sim, number)
        again = (await _pop(agents, second.call_id)).payload
        assert again["customer"]["id"] == other, "the confirmed owner comes first next time"
        assert again["customer_guess"] is True and [c["id"] for c in again["candidates"]] == [other, guess]
        assert (await _contact_of(api, second.call_id))["customer_guess"] == other
        _, looked_up = await api.get("/api/v1/lookup", params={"number": number})
        assert looked_up["customer"]["id"] == other and looked_up["customer_guess"] is True
    sim.pbx.cancel_flows()
