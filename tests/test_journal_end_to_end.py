"""The journal with the whole daemon: purpose groups and the waiting queue on a real broker, missed calls,
and presence from agents' MQTT messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api, reception_api
from tests.support.mqtt import Subscriber

SERVICE = {"e-100", "e-201", "e-203"}  # the seeded employees of the service purpose


@pytest.fixture
async def fast_queue(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    async with reception_api(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=seeded_sqlite[0],
        tmp_path=tmp_path,
        routing={"queue_reminder_s": 1},
    ) as api:
        yield api


async def test_given_no_responsible_then_every_employee_of_the_purpose_gets_the_group_notice(
    fast_queue: Api, broker: LocalBroker
) -> None:
    async with Subscriber(broker.url, "cti/agents/+/notify") as agents:
        status, contact = await fast_queue.send(
            "POST",
            "/api/v1/contacts",
            {"type": "call", "customer_id": "c-00002", "purpose": "service", "description": "knocking noise"},
        )
        assert status == 201 and contact["purpose_group"] == "service"
        for employee in SERVICE:
            notice = await agents.wait_for(f"cti/agents/{employee}/notify", contact_id=contact["id"])
            assert notice.payload["kind"] == "purpose_group" and "knocking noise" in notice.payload["text"]
        await asyncio.sleep(0.3)
        assert not agents.on("cti/agents/e-202/notify")  # showroom only: not in the group


async def test_given_a_waiting_visitor_then_reminders_every_interval_until_someone_takes_the_visit(
    fast_queue: Api, broker: LocalBroker
) -> None:
    async with Subscriber(broker.url, "cti/agents/+/notify") as agents:
        status, visit = await fast_queue.send(
            "POST",
            "/api/v1/contacts",
            {
                "type": "visit",
                "queued": True,
                "purpose": "service",
                "caller": {"name": "Ivan", "phone": "89160001122"},
            },
        )
        assert status == 201 and visit["queued_at"]

        def reminders() -> list[str]:
            return [
                m.topic.split("/")[2]
                for m in agents.messages
                if m.payload.get("kind") == "queue_reminder" and m.payload.get("contact_id") == visit["id"]
            ]

        await agents.wait_for(
            "cti/agents/e-100/notify", kind="queue_reminder", contact_id=visit["id"], timeout=5
        )
        await asyncio.sleep(1.6)
        first_rounds = reminders()
        assert set(first_rounds) == SERVICE  # reception (e-100) and the service group, once each per round
        assert len(first_rounds) >= 2 * len(SERVICE)  # and again one interval later
        status, taken = await fast_queue.send(
            "PATCH", f"/api/v1/contacts/{visit['id']}", {"responsible_employee_id": "e-201"}
        )
        assert status == 200 and taken["queued_at"] is None
        settled = len(reminders())
        await asyncio.sleep(2.2)
        assert len(reminders()) == settled  # taken: no more reminders


async def test_given_a_visit_marked_missed_then_the_reminders_stop(
    fast_queue: Api, broker: LocalBroker
) -> None:
    async with Subscriber(broker.url, "cti/agents/+/notify") as agents:
        _, visit = await fast_queue.send(
            "POST", "/api/v1/contacts", {"type": "visit", "queued": True, "customer_id": "c-00003"}
        )
        await agents.wait_for(
            "cti/agents/e-100/notify", kind="queue_reminder", contact_id=visit["id"], timeout=5
        )
        status, _ = await fast_queue.send(
            "POST", f"/api/v1/contacts/{visit['id']}/missed", {"reason": "left"}
        )
        assert status == 200
        count = len(agents.messages)
        await asyncio.sleep(2.2)
        assert len(agents.messages) == count


async def test_given_a_caller_hanging_up_before_anyone_answers_then_the_contact_is_a_missed_call(
    fast_queue: Api, sim: Sim
) -> None:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    call = InboundCall("89161112233", answer=False, ring_s=0.4)
    await place_inbound(sim.pbx, call, started=started)
    call_id = started.result().call_id
    for _ in range(100):
        _, found = await fast_queue.get(f"/api/v1/contacts?call_id={call_id}")
        if found["contacts"] and found["contacts"][0]["status"] == "missed":
            break
        await asyncio.sleep(0.05)
    contact = found["contacts"][0]
    assert contact["status"] == "missed" and "nobody answered" in contact["missed_reason"]
    assert [h["kind"] for h in contact["history"]] == ["registered", "missed"]


async def test_given_agents_publishing_presence_then_it_is_validated_republished_and_shown(
    fast_queue: Api, broker: LocalBroker
) -> None:
    host, port = broker.host, broker.port
    async with Subscriber(broker.url, "cti/presence/#") as watcher:
        will = aiomqtt.Will("cti/agents/e-201/client", json.dumps("offline"), qos=1, retain=True)
        async with aiomqtt.Client(host, port, identifier="agent-e-201", will=will) as agent:
            await agent.publish("cti/agents/e-201/client", json.dumps("online"), qos=1, retain=True)
            await agent.publish(
                "cti/presence/e-201/set", json.dumps({"status": "busy", "note": "meeting"}), qos=1
            )
            await agent.publish("cti/presence/e-201/set", json.dumps({"status": "sleeping"}), qos=1)
            busy = await watcher.wait_for("cti/presence/e-201", status="busy")
            assert busy.retain is False or busy.payload["client"] == "online"
            assert busy.payload["note"] == "meeting"
            status, me = await fast_queue.get("/api/v1/employees/e-201")
            assert status == 200
            assert me["presence"] == {"status": "busy", "note": "meeting"} and me["logged_in"] is True
            await agent.publish("cti/agents/e-201/client", json.dumps("offline"), qos=1, retain=True)
            await watcher.wait_for("cti/presence/e-201", client="offline")
        async with aiomqtt.Client(host, port, identifier="agent-e-201") as agent:
            await agent.publish("cti/agents/e-201/client", json.dumps("online"), qos=1, retain=True)
            back = await watcher.wait_for("cti/presence/e-201", client="online", status="available")
            assert back.payload["status"] == "available"  # busy falls back to available on return
    # The refused request was seen on its own topic, never re-published as a presence.
    assert not [m for m in watcher.on("cti/presence/e-201") if m.payload.get("status") == "sleeping"]


async def test_given_a_user_who_is_no_employee_asking_for_a_presence_then_none_is_published(
    fast_queue: Api, broker: LocalBroker
) -> None:
    async with (
        Subscriber(broker.url, "cti/presence/#") as watcher,
        aiomqtt.Client(broker.host, broker.port, identifier="not-an-agent") as intruder,
    ):
        await intruder.publish("cti/agents/evil/client", json.dumps("online"), qos=1, retain=True)
        await intruder.publish("cti/presence/evil/set", json.dumps({"status": "busy"}), qos=1)
        await intruder.publish("cti/presence/e-202/set", json.dumps({"status": "away"}), qos=1)
        await watcher.wait_for("cti/presence/e-202", status="away")  # sent last: the others were handled
        assert not watcher.on("cti/presence/evil")
        await intruder.publish("cti/agents/evil/client", b"", qos=1, retain=True)  # the broker forgets it
