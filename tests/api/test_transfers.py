"""The transfer endpoints of a running daemon (simulator over TCP, mosquitto, a seeded SQLite store):
every refusal (401, 400, 404, 409, 502, 504) with the call left where it was, and the flows followed at
/api/v1/transfers/{id}."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cti_daemon.ami.simulator import flows, phones
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from tests.conftest import Sim
from tests.support.api import Api, new_token
from tests.support.calls import LiveCall, answered_at, bridged_with, until, until_async


@pytest.fixture
def api(pbx_api: Api) -> Api:
    """Here the daemon's phones answer within 0.15 s and a transfer is confirmed within 2 s."""
    return pbx_api


async def _call_at_100(api: Api, sim: Sim) -> LiveCall:
    return await answered_at(sim.pbx, api.daemon.tracker)


def _transfer(call_id: str) -> str:
    return f"/api/v1/calls/{call_id}/transfer"


async def _status_is(api: Api, transfer_id: str, status: str) -> None:
    async def reached() -> bool:
        _, body = await api.get(f"/api/v1/transfers/{transfer_id}")
        return bool(body["status"] == status)

    await until_async(reached, what=f"transfer {status}")


def _still_with_reception(api: Api, sim: Sim, call: LiveCall) -> None:
    """The simulator's truth and the daemon's view agree: the caller talks with 100, nothing else."""
    assert bridged_with(sim.pbx, call.caller) == ["PJSIP/100"]
    view = api.daemon.tracker.call_view(call.call_id)
    assert view is not None and view.talking == ("100",) and view.ringing == ()


# --- tokens and bodies --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/calls/1.1/transfer",
        "/api/v1/transfers/x",
        "/api/v1/transfers/x/complete",
        "/api/v1/transfers/x/cancel",
        "/api/v1/calls/originate",
    ],
)
async def test_given_no_or_a_wrong_token_then_transfer_endpoints_answer_401(api: Api, path: str) -> None:
    method = "GET" if path == "/api/v1/transfers/x" else "POST"
    for token in (None, new_token()):
        status, body = await api.call(method, path, token=token, json={"to_extension": "201"})
        assert status == 401 and body["error"]["code"] == "unauthorized", (path, token)


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({}, None, "exactly one of to_employee and to_extension"),
        ({"to_employee": "e-201", "to_extension": "201"}, "to_extension", "exactly one"),
        ({"to_employee": None, "to_extension": None}, None, "exactly one"),
        ({"to_extension": "201", "mode": "consultative"}, "mode", '"blind"'),
        ({"to_extension": "201", "mode": None}, "mode", '"attended"'),
        ({"to_extension": "2 01"}, "to_extension", "no spaces"),
        ({"to_extension": 201}, "to_extension", "1 to 32 characters"),
        ({"to_employee": ""}, "to_employee", "1 to 64 characters"),
        ({"to_extension": "201", "contact": "x"}, "contact", "unknown field"),
    ],
)
async def test_given_a_bad_transfer_body_then_400_names_the_field(
    api: Api, body: dict[str, Any], field: str | None, says: str
) -> None:
    status, answer = await api.post(_transfer("1795507019.0"), json=body)
    assert status == 400, answer
    assert answer["error"]["field"] == field and says in answer["error"]["message"]


async def test_given_a_body_that_is_not_a_json_object_then_400_or_415(api: Api) -> None:
    status, answer = await api.post(
        _transfer("1.1"), data=b"{to:", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and answer["error"]["code"] == "bad_json"
    status, answer = await api.post(_transfer("1.1"), data=b"to_extension=201")
    assert status == 415


# --- unknown things -----------------------------------------------------------------------------------
async def test_given_an_unknown_employee_or_extension_then_404_names_the_field(api: Api, sim: Sim) -> None:
    call = await _call_at_100(api, sim)
    status, body = await api.post(_transfer(call.call_id), json={"to_employee": "e-999"})
    assert status == 404 and body["error"]["field"] == "to_employee" and "e-999" in body["error"]["message"]
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "7777"})
    assert status == 404 and body["error"]["field"] == "to_extension" and "7777" in body["error"]["message"]
    status, body = await api.get("/api/v1/transfers/no-such-transfer")
    assert status == 404 and body["error"]["field"] == "transfer_id"
    for action in ("complete", "cancel"):
        status, body = await api.post(f"/api/v1/transfers/no-such-transfer/{action}")
        assert status == 404 and body["error"]["field"] == "transfer_id"
    _still_with_reception(api, sim, call)


async def test_given_a_call_that_is_not_in_progress_then_409_call_gone_as_the_contract_says(api: Api) -> None:
    status, body = await api.post(_transfer("1795507019.999"), json={"to_extension": "201"})
    assert status == 409 and body["error"]["code"] == "call_gone" and body["error"]["field"] == "call_id"


# --- the call stays where it was ----------------------------------------------------------------------
async def test_given_the_target_is_offline_then_409_and_the_caller_still_talks_to_reception(
    api: Api, sim: Sim
) -> None:
    phones.unregister(sim.pbx, "202")
    await until(lambda: str(api.daemon.tracker.line_view("202").status) == "offline")  # type: ignore[union-attr]
    call = await _call_at_100(api, sim)
    for body in ({"to_extension": "202"}, {"to_employee": "e-202", "mode": "attended"}):
        status, answer = await api.post(_transfer(call.call_id), json=body)
        assert status == 409, answer
        error = answer["error"]
        assert error["code"] == "line_offline" and error["field"] == next(iter(body))
        assert "202 is offline" in error["message"] and "stays" in error["message"]
    # Nothing was asked of the PBX: Asterisk would have said "Transfer succeeded" and cut the caller off.
    assert sim.server.received["blindtransfer"] == 0 and sim.server.received["atxfer"] == 0
    _still_with_reception(api, sim, call)
    status, line = await api.get("/api/v1/lines/100")
    assert status == 200 and line["status"] == "talking" and line["call_id"] == call.call_id


async def _ringing_at_100(api: Api, sim: Sim) -> str:
    sim.pbx.endpoints["100"].answer_after_s = None  # reception is busy with a visitor: it rings on
    sim.pbx.spawn(place_inbound(sim.pbx, InboundCall("+79161234567", ring_s=50, talk_s=None)))
    await until(lambda: bool(api.daemon.tracker.call_views()))
    (view,) = api.daemon.tracker.call_views()
    await until(lambda: api.daemon.tracker.call_view(view.call_id).ringing == ("100",))  # type: ignore[union-attr]
    return view.call_id


async def test_given_a_call_ringing_at_100_then_an_attended_transfer_is_409_not_answered(
    api: Api, sim: Sim
) -> None:
    call_id = await _ringing_at_100(api, sim)
    status, body = await api.post(_transfer(call_id), json={"to_extension": "201", "mode": "attended"})
    assert status == 409 and body["error"]["code"] == "call_not_answered"
    assert "put through blind" in body["error"]["message"]
    assert sim.server.received["atxfer"] == 0 and sim.server.received["redirect"] == 0
    assert api.daemon.tracker.call_view(call_id).ringing == ("100",)  # type: ignore[union-attr]


async def test_given_a_call_ringing_at_100_when_put_through_to_201_then_100_stops_and_201_answers_the_caller(
    api: Api, sim: Sim
) -> None:
    call_id = await _ringing_at_100(api, sim)
    sim.pbx.endpoints["201"].answer_after_s = 0.5
    status, body = await api.post(_transfer(call_id), json={"to_employee": "e-201"})
    assert status == 201 and body["status"] == "ringback" and body["from_extension"] == "100", body
    # The caller's own channel was Redirected (nobody to BlindTransfer from): 100 no longer rings.
    assert sim.server.received["redirect"] == 1 and sim.server.received["blindtransfer"] == 0
    await _status_is(api, body["id"], "completed")
    view = api.daemon.tracker.call_view(call_id)
    assert view is not None and view.talking == ("201",) and view.ringing == ()
    (trunk,) = [c for c in sim.pbx.channels.values() if c.device == "PJSIP/trunk"]
    assert bridged_with(sim.pbx, trunk) == ["PJSIP/201"]
    _, line = await api.get("/api/v1/lines/100")
    assert line["status"] == "ready"


async def test_given_the_target_already_talks_with_the_caller_then_409(api: Api, sim: Sim) -> None:
    call = await _call_at_100(api, sim)
    status, body = await api.post(_transfer(call.call_id), json={"to_employee": "e-100"})
    assert status == 409 and body["error"]["code"] == "target_in_call"
    assert body["error"]["field"] == "to_employee" and "100 is already talking" in body["error"]["message"]
    _still_with_reception(api, sim, call)


async def test_given_the_target_talks_on_another_call_then_blind_is_refused_and_attended_allowed(
    api: Api, sim: Sim
) -> None:
    other = await answered_at(sim.pbx, api.daemon.tracker, "202", "+74951234567", "Other")
    call = await _call_at_100(api, sim)
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "202"})
    assert status == 409 and body["error"]["code"] == "target_busy" and "attended" in body["error"]["message"]
    _still_with_reception(api, sim, call)
    sim.pbx.endpoints["202"].answer_after_s = None
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "202", "mode": "attended"})
    assert status == 201 and body["status"] == "ringback", body
    other.task.cancel()


# --- the PBX refuses or stays silent ------------------------------------------------------------------
async def test_given_the_ami_user_may_not_transfer_then_502_and_the_transfer_is_failed(
    api: Api, sim: Sim
) -> None:
    call = await _call_at_100(api, sim)
    sim.server.write = ("system",)  # manager.conf without write = call
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "201"})
    assert status == 502 and body["error"]["code"] == "ami_permission"
    assert "write = call" in body["error"]["message"]
    transfer_id = body["error"]["message"].split()[1]  # "transfer <id> failed: ..."
    _, transfer = await api.get(f"/api/v1/transfers/{transfer_id}")
    assert transfer["status"] == "failed" and "may not send BlindTransfer" in transfer["reason"]
    _still_with_reception(api, sim, call)


async def test_given_a_pbx_without_blindtransfer_then_the_caller_is_redirected_and_201_rings(
    api: Api, sim: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    del sim.server.actions["blindtransfer"]  # Asterisk 11: "Invalid/unknown command"
    sim.pbx.endpoints["201"].answer_after_s = None
    call = await _call_at_100(api, sim)
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "201"})
    assert status == 201 and body["status"] == "ringback", body
    assert sim.server.received["redirect"] == 1
    logged = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    (fallback,) = [e for e in logged if e["event"] == "transfer.blind_refused_redirecting"]
    assert fallback["pbx_said"] == "Invalid/unknown command" and fallback["call_id"] == call.call_id
    assert sim.pbx.pick_up("201")
    await _status_is(api, body["id"], "completed")
    assert bridged_with(sim.pbx, call.caller) == ["PJSIP/201"]


async def test_given_a_phone_that_refuses_calls_when_blind_transferred_then_502_with_what_happened(
    api: Api, sim: Sim
) -> None:
    sim.pbx.endpoints["203"].busy = True  # do not disturb: registered and idle, answers 486 Busy Here
    call = await _call_at_100(api, sim)
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "203"})
    assert status == 502 and body["error"]["code"] == "transfer_failed", body
    assert "failed: the call ended before 203 rang (User busy)" in body["error"]["message"]
    await until(lambda: api.daemon.tracker.call_view(call.call_id) is None, what="call ended")


async def test_given_an_attended_target_that_never_rings_then_504_and_the_caller_is_back_with_100(
    api: Api, sim: Sim
) -> None:
    sim.pbx.endpoints["203"].busy = True  # the consultation cannot reach it: Asterisk gives the caller back
    call = await _call_at_100(api, sim)
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "203", "mode": "attended"})
    assert status == 504 and body["error"]["code"] == "transfer_unconfirmed", body
    assert "did not report 203 ringing within 2 s" in body["error"]["message"]
    transfer_id = body["error"]["message"].split()[1]
    _, transfer = await api.get(f"/api/v1/transfers/{transfer_id}")
    assert transfer["status"] == "failed"
    await until(lambda: bridged_with(sim.pbx, call.caller) == ["PJSIP/100"], what="caller back with 100")
    _still_with_reception(api, sim, call)


# --- attended: complete and cancel, and their refusals ------------------------------------------------
async def test_given_attended_ringback_then_complete_is_409_naming_the_status_and_a_second_transfer_409(
    api: Api, sim: Sim
) -> None:
    sim.pbx.endpoints["201"].answer_after_s = None
    call = await _call_at_100(api, sim)
    status, first = await api.post(_transfer(call.call_id), json={"to_employee": "e-201", "mode": "attended"})
    assert status == 201 and first["status"] == "ringback"
    status, body = await api.post(f"/api/v1/transfers/{first['id']}/complete")
    assert status == 409 and body["error"]["code"] == "transfer_not_answered"
    assert "is ringback" in body["error"]["message"]
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "202"})
    assert status == 409 and body["error"]["code"] == "transfer_in_progress"
    assert first["id"] in body["error"]["message"] and "ringback" in body["error"]["message"]
    # Cancelled while 201 still rings: 201 stops ringing, the caller is back with 100.
    status, cancelled = await api.post(f"/api/v1/transfers/{first['id']}/cancel")
    assert status == 200 and cancelled["status"] == "abandoned"
    assert cancelled["reason"] == "cancelled by reception-console; the caller is back with 100"
    await until(lambda: not [c for c in sim.pbx.channels.values() if c.device == "PJSIP/201"])
    _still_with_reception(api, sim, call)
    status, body = await api.post(f"/api/v1/transfers/{first['id']}/cancel")
    assert (
        status == 409
        and body["error"]["code"] == "transfer_finished"
        and "abandoned" in body["error"]["message"]
    )


async def test_given_a_blind_transfer_then_complete_and_cancel_are_409_not_attended(
    api: Api, sim: Sim
) -> None:
    sim.pbx.endpoints["201"].answer_after_s = None
    call = await _call_at_100(api, sim)
    status, transfer = await api.post(_transfer(call.call_id), json={"to_extension": "201"})
    assert status == 201
    for action in ("complete", "cancel"):
        status, body = await api.post(f"/api/v1/transfers/{transfer['id']}/{action}")
        assert status == 409 and body["error"]["code"] == "not_attended", action


async def test_given_attended_consultation_when_201_hangs_up_then_abandoned_and_the_caller_is_back(
    api: Api, sim: Sim
) -> None:
    sim.pbx.endpoints["201"].answer_after_s = None
    call = await _call_at_100(api, sim)
    _, transfer = await api.post(_transfer(call.call_id), json={"to_extension": "201", "mode": "attended"})
    assert sim.pbx.pick_up("201")
    await _status_is(api, transfer["id"], "answered")
    (target,) = [c for c in sim.pbx.channels.values() if c.device == "PJSIP/201"]
    flows.hangup(sim.pbx, target)  # 201 puts the handset down during the consultation
    await _status_is(api, transfer["id"], "abandoned")
    _, after = await api.get(f"/api/v1/transfers/{transfer['id']}")
    assert after["reason"].startswith("201 hung up during the consultation")
    _still_with_reception(api, sim, call)
    status, body = await api.post(f"/api/v1/transfers/{transfer['id']}/complete")
    assert status == 409 and body["error"]["code"] == "transfer_finished"


async def test_given_no_ami_session_then_503_and_no_transfer_is_recorded(api: Api, sim: Sim) -> None:
    call = await _call_at_100(api, sim)
    await sim.server.stop()
    await until(lambda: not api.daemon.ami.connected, what="AMI down")
    status, body = await api.post(_transfer(call.call_id), json={"to_extension": "201"})
    assert status == 503 and body["error"]["code"] == "ami_unavailable"
    status, body = await api.post(
        "/api/v1/calls/originate", json={"from_extension": "201", "to_number": "100"}
    )
    assert status == 503 and body["error"]["code"] == "ami_unavailable"
    assert api.daemon.transfers.get(call.call_id) is None
