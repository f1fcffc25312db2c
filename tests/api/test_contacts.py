"""The contact journal over HTTP against a real daemon: one test per lifecycle rule of issue 5."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from tests.conftest import Sim
from tests.support.api import Api
from tests.support.mqtt import Subscriber


async def _register(api: Api, **body: Any) -> dict[str, Any]:
    status, answer = await api.send("POST", "/api/v1/contacts", body)
    assert status == 201, answer
    return answer  # type: ignore[no-any-return]


async def _ring_reception(sim: Sim, number: str) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    call = InboundCall(number, "Caller", ring_s=5.0, talk_s=None)
    task = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


async def _contact_of_call(api: Api, call_id: str) -> dict[str, Any]:
    for _ in range(100):
        status, body = await api.get(f"/api/v1/contacts?call_id={call_id}")
        assert status == 200
        if body["contacts"]:
            return body["contacts"][0]  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no contact for call {call_id}")


# --- registration -------------------------------------------------------------------------------------
async def test_given_a_call_ringing_reception_then_a_contact_is_registered_and_the_pop_names_it(
    api: Api, sim: Sim
) -> None:
    async with Subscriber(api.daemon.config.mqtt.url, "cti/agents/e-100/popup", "cti/traffic/+") as agent:
        call, handle = await _ring_reception(sim, "89162215279")
        pop = await agent.wait_for("cti/agents/e-100/popup", call_id=handle.call_id, type="popup")
        contact_id = pop.payload["contact_id"]
        assert contact_id
        traffic = await agent.wait_for(f"cti/traffic/{contact_id}")
        assert traffic.payload["call_id"] == handle.call_id
    contact = await _contact_of_call(api, handle.call_id)
    assert contact["id"] == contact_id and contact["type"] == "call" and contact["status"] == "registered"
    assert contact["created_by"] == "pbx" and contact["caller"]["phone"] == "89162215279"
    assert (
        contact["caller"]["e164"] == "+79162215279"
        and contact["customer_id"] == pop.payload["customer"]["id"]
    )
    assert [h["kind"] for h in contact["history"]] == ["registered"]
    call.cancel()


async def test_given_no_customer_phone_tax_id_vehicle_or_document_then_registration_is_refused(
    api: Api,
) -> None:
    status, body = await api.send("POST", "/api/v1/contacts", {"type": "visit", "description": "walk-in"})
    assert status == 400 and body["error"]["field"] == "customer_id"
    assert "caller.phone" in body["error"]["message"]
    for given in (
        {"customer_id": "c-00002"},
        {"caller": {"phone": "+7 916 000-00-01"}},
        {"tax_id": "7701234567"},
        {"document_number": "RO-1002"},
    ):
        status, body = await api.send("POST", "/api/v1/contacts", {"type": "visit", **given})
        assert status == 201, (given, body)


async def test_given_transfer_then_only_the_responsible_employee_is_needed(api: Api) -> None:
    status, body = await api.send("POST", "/api/v1/contacts", {"type": "call", "transfer": True})
    assert status == 400 and body["error"]["field"] == "responsible_employee_id"
    contact = await _register(api, type="call", transfer=True, responsible_employee_id="e-201")
    assert contact["status"] == "assigned" and contact["responsible_employee_id"] == "e-201"


async def test_given_no_purpose_and_a_customer_with_open_documents_then_the_purpose_is_taken_as_auto(
    api: Api,
) -> None:
    status, card = await api.get("/api/v1/customers/c-00001")
    assert status == 200 and card["open_documents"]
    contact = await _register(api, type="call", customer_id="c-00001")
    assert contact["purpose"] == {"code": card["open_documents"][0]["purpose"], "sub": None, "auto": True}
    chosen = await _register(api, type="call", customer_id="c-00001", purpose="shop")
    assert chosen["purpose"]["auto"] is False


async def test_given_unknown_fields_purposes_or_employees_then_400_names_the_field(api: Api) -> None:
    cases = [
        ({"type": "fax", "customer_id": "c-00001"}, "type"),
        ({"type": "call", "customer_id": "c-00001", "purpose": "parking"}, "purpose"),
        (
            {"type": "call", "customer_id": "c-00001", "responsible_employee_id": "e-999"},
            "responsible_employee_id",
        ),
        ({"type": "call", "customer_id": "c-99999"}, "customer_id"),
        ({"type": "call", "customer_id": "c-00001", "descripton": "typo"}, "descripton"),
        ({"type": "call", "customer_id": "c-00001", "created_by": "someone"}, "created_by"),
        ({"type": "call", "caller": {"phone": 5}}, "caller.phone"),
    ]
    for body, field in cases:
        status, answer = await api.send("POST", "/api/v1/contacts", body)
        assert status == 400, (body, answer)
        assert answer["error"]["field"] == field, (body, answer)


# --- stamps and notes ---------------------------------------------------------------------------------
async def test_created_and_finalized_stamps_are_set_by_the_server_and_cannot_be_changed(api: Api) -> None:
    contact = await _register(api, type="visit", customer_id="c-00003")
    assert contact["created_by"] == "reception-console" and contact["created_at"]
    for field in ("created_at", "created_by", "finalized_at", "finalized_by", "id", "type"):
        status, body = await api.send("PATCH", f"/api/v1/contacts/{contact['id']}", {field: "x"})
        assert status == 400 and body["error"]["code"] == "immutable" and body["error"]["field"] == field
    status, done = await api.send("POST", f"/api/v1/contacts/{contact['id']}/finalize")
    assert status == 200 and done["finalized_by"] == "reception-console" and done["finalized_at"]
    assert done["created_at"] == contact["created_at"] and done["created_by"] == contact["created_by"]


async def test_notes_are_appended_with_author_and_time_and_never_edited(api: Api) -> None:
    contact = await _register(api, type="call", customer_id="c-00004")
    path = f"/api/v1/contacts/{contact['id']}"
    for text in ("called about the brakes", "будет в 15:00"):
        status, body = await api.send("POST", f"{path}/notes", {"text": text})
        assert status == 201 and body["note"]["author"] == "reception-console" and body["note"]["at"]
    status, read = await api.get(path)
    assert [n["text"] for n in read["notes"]] == ["called about the brakes", "будет в 15:00"]
    status, body = await api.send("PATCH", path, {"notes": []})
    assert status == 400 and body["error"]["field"] == "notes"
    status, body = await api.send("POST", f"{path}/notes", {"text": "x", "author": "forged"})
    assert status == 400 and body["error"]["field"] == "author"
    status, body = await api.send("POST", "/api/v1/contacts/nope/notes", {"text": "x"})
    assert status == 404


# --- status -------------------------------------------------------------------------------------------
async def test_given_the_lifecycle_registered_assigned_in_progress_finalized_then_each_step_is_recorded(
    api: Api,
) -> None:
    contact = await _register(api, type="call", customer_id="c-00005")
    path = f"/api/v1/contacts/{contact['id']}"
    # e-100 takes every purpose (the auto purpose of c-00005's open document is the journal's rule)
    status, assigned = await api.send("PATCH", path, {"responsible_employee_id": "e-100"})
    assert status == 200 and assigned["status"] == "assigned"
    status, working = await api.send("PATCH", path, {"status": "in_progress"})
    assert status == 200 and working["status"] == "in_progress"
    status, done = await api.send("POST", f"{path}/finalize", {})
    assert status == 200 and done["status"] == "finalized"
    assert [h["kind"] for h in done["history"]] == ["registered", "assigned", "updated", "finalized"]
    assert all(h["actor"] == "reception-console" for h in done["history"])


async def test_a_transition_not_allowed_answers_409_naming_the_allowed_ones(api: Api) -> None:
    contact = await _register(
        api, type="call", customer_id="c-00006", purpose="service", responsible_employee_id="e-201"
    )
    path = f"/api/v1/contacts/{contact['id']}"
    await api.send("PATCH", path, {"status": "in_progress"})
    status, body = await api.send("POST", f"{path}/missed", {"reason": "gone"})
    assert status == 409 and body["error"]["code"] == "transition_not_allowed"
    assert body["error"]["allowed"] == ["assigned", "finalized", "postponed"]
    await api.send("POST", f"{path}/finalize")
    status, body = await api.send("PATCH", path, {"status": "in_progress"})
    assert status == 409 and body["error"]["allowed"] == []


async def test_missed_needs_a_reason_and_a_missed_contact_can_be_given_to_someone_to_call_back(
    api: Api,
) -> None:
    contact = await _register(api, type="visit", customer_id="c-00007", purpose="showroom")
    path = f"/api/v1/contacts/{contact['id']}"
    status, body = await api.send("POST", f"{path}/missed", {})
    assert status == 400 and body["error"]["field"] == "reason"
    status, missed = await api.send("POST", f"{path}/missed", {"reason": "left before anyone came"})
    assert (
        status == 200
        and missed["status"] == "missed"
        and missed["missed_reason"] == "left before anyone came"
    )
    status, again = await api.send("PATCH", path, {"responsible_employee_id": "e-202"})
    assert status == 200 and again["status"] == "assigned"


async def test_postponing_keeps_the_contact_open_and_moves_it(api: Api) -> None:
    contact = await _register(
        api, type="call", customer_id="c-00008", purpose="service", responsible_employee_id="e-201"
    )
    path = f"/api/v1/contacts/{contact['id']}"
    body = {"until": "2036-12-01T09:00:00Z", "reason": "customer abroad", "to_employee": "e-203"}
    status, later = await api.send("POST", f"{path}/postpone", body)
    assert status == 200 and later["status"] == "postponed"
    assert later["postponed"] == {
        "until": "2036-12-01T09:00:00.000Z",
        "reason": "customer abroad",
        "to": "e-203",
    }
    assert later["responsible_employee_id"] == "e-203"
    status, open_ones = await api.get("/api/v1/contacts?status=open&employee=e-203")
    assert contact["id"] in [c["id"] for c in open_ones["contacts"]]
    status, bad = await api.send("POST", f"{path}/postpone", {"until": "tomorrow", "reason": "x"})
    assert status == 400 and bad["error"]["field"] == "until"


async def test_given_a_stale_version_then_409_and_nothing_changes(api: Api) -> None:
    contact = await _register(api, type="call", customer_id="c-00009")
    path = f"/api/v1/contacts/{contact['id']}"
    status, first = await api.send("PATCH", path, {"description": "first", "version": contact["version"]})
    assert status == 200 and first["version"] == contact["version"] + 1
    status, body = await api.send("PATCH", path, {"description": "second", "version": contact["version"]})
    assert status == 409 and body["error"]["field"] == "version"
    status, read = await api.get(path)
    assert read["description"] == "first"


async def test_given_a_reassignment_then_the_new_responsible_is_notified(api: Api) -> None:
    contact = await _register(api, type="call", customer_id="c-00010", purpose="showroom")
    async with Subscriber(api.daemon.config.mqtt.url, "cti/agents/+/notify") as agents:
        await api.send("PATCH", f"/api/v1/contacts/{contact['id']}", {"responsible_employee_id": "e-202"})
        notice = await agents.wait_for("cti/agents/e-202/notify", contact_id=contact["id"])
        assert notice.payload["kind"] == "assigned"


async def test_the_journal_filters_by_status_purpose_employee_customer_and_dates(api: Api) -> None:
    a = await _register(
        api, type="call", customer_id="c-00011", purpose="shop", responsible_employee_id="e-203"
    )
    await _register(api, type="visit", customer_id="c-00012", purpose="service")
    status, shop = await api.get("/api/v1/contacts?purpose=shop&employee=e-203&status=assigned")
    assert status == 200 and [c["id"] for c in shop["contacts"]] == [a["id"]]
    status, of_customer = await api.get("/api/v1/contacts?customer=c-00011")
    assert status == 200 and of_customer["contacts"][0]["id"] == a["id"]  # newest first, with the seed's
    assert {c["customer_id"] for c in of_customer["contacts"]} == {"c-00011"}
    status, none = await api.get("/api/v1/contacts?from=2030-01-01T00:00:00Z")
    assert status == 200 and none["contacts"] == []
    for bad in ("status=done", "from=yesterday", "limit=0", "limit=x"):
        status, body = await api.get(f"/api/v1/contacts?{bad}")
        assert status == 400 and body["error"]["field"] == bad.split("=")[0], bad


async def test_purposes_list_the_five_built_ins_with_their_employees(api: Api) -> None:
    status, body = await api.get("/api/v1/purposes")
    assert status == 200
    codes = [p["code"] for p in body["purposes"]]
    assert codes == ["service", "showroom", "shop", "feedback", "other"]
    service = body["purposes"][0]
    assert "e-201" in service["employees"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_given_a_time_with_no_utc_form_then_400_names_it(api: Api, moment: str) -> None:
    status, body = await api.get("/api/v1/contacts", params={"from": moment})
    assert status == 400 and body["error"]["field"] == "from", body
    status, created = await api.send(
        "POST", "/api/v1/contacts", {"type": "visit", "caller": {"name": "Oleg", "phone": "+7 916 555-00-11"}}
    )
    status, body = await api.send(
        "POST", f"/api/v1/contacts/{created['id']}/postpone", {"until": moment, "reason": "call back"}
    )
    assert status == 400 and body["error"]["field"] == "until", body
