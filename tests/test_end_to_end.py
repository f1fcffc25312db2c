"""The spine over real sockets: simulator (TCP) -> daemon -> mosquitto -> an agent's subscriber."""

from __future__ import annotations

import asyncio
import json

import pytest

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.app import Daemon
from cti_daemon.crm.models import Customer
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.mqtt import Subscriber


async def _name_of(db_url: str, customer_id: str) -> str:
    store = open_store(db_url)
    try:
        async with store.session() as session:
            customer = await session.get(Customer, customer_id)
            assert customer is not None
            return customer.name
    finally:
        await store.dispose()


async def _ring(sim: Sim, call: InboundCall) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


async def test_given_known_customer_calls_reception_then_e100_gets_the_card_before_anyone_answers(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, seed = seeded_sqlite
    raw = seed.known_numbers[0]  # "8916..." as the PBX sends national numbers
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Subscriber(broker.url, "cti/#") as agent, Daemon(config) as daemon:
        await daemon.wait_ready()
        task, handle = await _ring(sim, InboundCall(raw, "Mikhail", ring_s=3.0, talk_s=0.1))
        pop = await agent.wait_for("cti/agents/e-100/popup", type="popup")
        assert handle.dest is not None and handle.dest.state == 5, "the pop came after the phone was answered"
        assert pop.payload["identified"] is True
        assert pop.payload["caller"] == {"number": "+7" + raw[1:], "raw": raw, "name": "Mikhail"}
        customer = pop.payload["customer"]
        assert customer["id"] == "c-00001" and customer["name"] == await _name_of(db_url, "c-00001")
        assert len(customer["vehicles"]) == 2 and customer["open_documents"]
        assert pop.payload["call_id"] == handle.call_id and pop.payload["extension"] == "100"
        assert pop.payload["v"] == 1 and pop.payload["purpose"]["auto"] is True
        line = await agent.wait_for("cti/lines/100", status="ringing")
        assert line.retain is False or line.payload["call_id"] == handle.call_id
        await agent.wait_for("cti/lines/100", status="talking")
        task.cancel()
    assert not [m for m in agent.messages if m.topic.startswith("cti/agents/") and "e-100" not in m.topic]


async def test_given_unknown_and_withheld_callers_then_pops_are_unidentified_with_the_reason(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, seed = seeded_sqlite
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Subscriber(broker.url, "cti/agents/+/popup") as agent, Daemon(config) as daemon:
        await daemon.wait_ready()
        calls = [
            (seed.unknown_numbers[0], "", "number not in the customer store"),
            ("anonymous", "Anonymous", "number withheld"),
            ("<unknown>", "", "number withheld"),
            ("", "", "no caller id"),
        ]
        for raw, name, reason in calls:
            task, handle = await _ring(sim, InboundCall(raw, name, ring_s=0.2, talk_s=0.05))
            pop = await agent.wait_for("cti/agents/e-100/popup", call_id=handle.call_id, type="popup")
            assert pop.payload["identified"] is False and pop.payload["customer"] is None
            assert pop.payload["reason"] == reason
            assert pop.payload["caller"]["raw"] == raw
            await task


async def test_given_a_number_shared_by_two_customers_then_the_pop_lists_both_candidates(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, seed = seeded_sqlite
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Subscriber(broker.url, "cti/agents/+/popup") as agent, Daemon(config) as daemon:
        await daemon.wait_ready()
        task, handle = await _ring(sim, InboundCall(seed.shared_numbers[0], ring_s=0.2, talk_s=0.05))
        pop = await agent.wait_for("cti/agents/e-100/popup", call_id=handle.call_id)
        assert len(pop.payload["candidates"]) == 2
        assert pop.payload["customer"]["id"] == pop.payload["candidates"][0]["id"]
        await task


async def test_given_the_call_is_abandoned_then_the_pop_is_dismissed(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, seed = seeded_sqlite
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Subscriber(broker.url, "cti/agents/+/popup") as agent, Daemon(config) as daemon:
        await daemon.wait_ready()
        task, handle = await _ring(sim, InboundCall(seed.known_numbers[1], answer=False, ring_s=0.2))
        await agent.wait_for("cti/agents/e-100/popup", call_id=handle.call_id, type="popup")
        dismiss = await agent.wait_for("cti/agents/e-100/popup", call_id=handle.call_id, type="dismiss")
        assert dismiss.payload["reason"] == "ended"
        await task


async def test_given_daemon_running_then_its_status_is_retained_online_with_ami_connected(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, _ = seeded_sqlite
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Daemon(config) as daemon:
        await daemon.wait_ready()
        await daemon.mqtt.drain()
        async with Subscriber(broker.url, "cti/daemon/+/status") as late:
            status = await late.wait_for("cti/daemon/test/status", ami="connected")
            assert status.retain and status.payload["state"] == "online"
    async with Subscriber(broker.url, "cti/daemon/+/status") as after:
        status = await after.wait_for("cti/daemon/test/status")
        assert status.payload["state"] == "offline"


async def test_given_no_broker_at_start_then_the_daemon_says_it_waits_and_becomes_ready_when_it_appears(
    sim: Sim, seeded_sqlite: tuple[str, SeedSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    db_url, _ = seeded_sqlite
    broker = LocalBroker()
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Daemon(config) as daemon:
        await asyncio.sleep(1.0)
        assert not daemon.mqtt.connected
        async with broker:
            await daemon.wait_ready(10)
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    waiting = [e for e in events if e["event"] == "daemon.waiting"]
    assert waiting and "MQTT" in waiting[0]["waiting_for"]
    assert any(e["event"] == "mqtt.unavailable" for e in events)
    assert [e["event"] for e in events].count("daemon.ready") == 1
