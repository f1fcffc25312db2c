"""The rules reception cannot break (issue 14, item 6), on SQLite and PostgreSQL: the responsible
employee serves the contact's purpose (an admin overrides, recorded in the history), the vehicle is the
customer's, a postponement is not to the past, a transfer to a busy or away employee needs confirming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.desk import Desk, desk
from tests.support.mqtt import Subscriber


@pytest.fixture
async def rules_desk(sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    async with desk(ami_port=sim.port, mqtt_url=broker.url, store_url=store_url, tmp_path=tmp_path) as d:
        yield d


async def _register(d: Desk, token: str | None = None, **body: Any) -> tuple[int, Any]:
    return await d.api.send("POST", "/api/v1/contacts", body, token=token or d.reception)


async def test_given_a_showroom_contact_given_to_a_service_employee_then_409_employee_not_in_purpose(
    rules_desk: Desk,
) -> None:
    status, body = await _register(
        rules_desk, type="call", customer_id="c-00002", purpose="showroom", responsible_employee_id="e-201"
    )
    assert status == 409 and body["error"]["code"] == "employee_not_in_purpose"
    assert body["error"]["field"] == "responsible_employee_id"
    status, ok = await _register(
        rules_desk, type="call", customer_id="c-00002", purpose="showroom", responsible_employee_id="e-202"
    )
    assert status == 201
    status, body = await rules_desk.api.send(
        "PATCH",
        f"/api/v1/contacts/{ok['id']}",
        {"responsible_employee_id": "e-201"},
        token=rules_desk.reception,
    )
    assert status == 409 and body["error"]["code"] == "employee_not_in_purpose"


async def test_given_override_then_only_an_admin_may_and_the_history_records_it(rules_desk: Desk) -> None:
    wanted: dict[str, Any] = {
        "type": "call",
        "customer_id": "c-00002",
        "purpose": "showroom",
        "responsible_employee_id": "e-201",
        "override": True,
    }
    status, body = await _register(rules_desk, **wanted)
    assert status == 403 and "the admin role" in body["error"]["message"]
    status, contact = await _register(rules_desk, token="default", **wanted)
    assert status == 201 and contact["responsible_employee_id"] == "e-201"
    status, read = await rules_desk.api.get(f"/api/v1/contacts/{contact['id']}")
    assert read["history"][0]["kind"] == "registered"
    assert read["history"][0]["data"]["override"] == "employee_not_in_purpose"


async def test_given_a_vehicle_of_another_customer_then_400_names_vehicle_id(rules_desk: Desk) -> None:
    _, own = await rules_desk.api.get("/api/v1/customers/c-00001")
    _, other = await rules_desk.api.get("/api/v1/customers/c-00002")
    mine, theirs = own["vehicles"][0]["id"], other["vehicles"][0]["id"]
    status, body = await _register(rules_desk, type="call", customer_id="c-00001", vehicle_id=theirs)
    assert status == 400 and body["error"]["field"] == "vehicle_id"
    status, contact = await _register(rules_desk, type="call", customer_id="c-00001", vehicle_id=mine)
    assert status == 201
    status, body = await rules_desk.api.send(
        "PATCH", f"/api/v1/contacts/{contact['id']}", {"customer_id": "c-00002"}, token=rules_desk.reception
    )
    assert status == 400 and body["error"]["field"] == "vehicle_id"


async def test_given_a_postponement_to_a_past_date_then_400_names_until(rules_desk: Desk) -> None:
    _, contact = await _register(rules_desk, type="call", customer_id="c-00001")
    status, body = await rules_desk.api.send(
        "POST",
        f"/api/v1/contacts/{contact['id']}/postpone",
        {"until": "2020-03-01T10:00:00Z", "reason": "call back"},
        token=rules_desk.reception,
    )
    assert status == 400 and body["error"]["field"] == "until"


async def test_given_an_employee_busy_with_a_note_then_a_transfer_answers_409_with_the_note_unless_confirmed(
    rules_desk: Desk, broker: LocalBroker
) -> None:
    async with Subscriber(broker.url, "cti/presence/#") as agents:
        await agents.publish(
            "cti/presence/e-201/set", {"status": "busy", "note": "with a client until 15:00"}
        )
        await agents.wait_for("cti/presence/e-201", status="busy")
    # The presence is checked before the call: a call that is gone shows the gate alone.
    path = "/api/v1/calls/no-such-call/transfer"
    status, body = await rules_desk.api.send(
        "POST", path, {"to_employee": "e-201"}, token=rules_desk.reception
    )
    assert status == 409 and body["error"]["code"] == "presence_busy"
    assert body["error"]["note"] == "with a client until 15:00"
    assert "with a client until 15:00" in body["error"]["message"]
    status, body = await rules_desk.api.send(
        "POST", path, {"to_employee": "e-201", "confirm": True}, token=rules_desk.reception
    )
    assert status == 409 and body["error"]["code"] == "call_gone"
    await asyncio.sleep(0)
