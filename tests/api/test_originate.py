"""POST /api/v1/calls/originate on a running daemon (simulator over TCP): the answer with the call's id,
and every refusal with nothing asked of the PBX when the request cannot work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from cti_daemon.ami.call_events import LineStatus
from cti_daemon.ami.simulator import phones
from cti_daemon.ami.simulator.pbx import Endpoint
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.crm.models import Employee
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api, reception_api
from tests.support.calls import answered_at, until

ORIGINATE = "/api/v1/calls/originate"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"to_number": "100"}, "from_extension", "required"),
        ({"from_extension": "201"}, "to_number", "required"),
        ({"from_extension": 201, "to_number": "100"}, "from_extension", "text"),
        ({"from_extension": "201", "to_number": "call me"}, "to_number", "phone number or an extension"),
        ({"from_extension": "201", "to_number": "+7 916 12*3"}, "to_number", "digits"),
        ({"from_extension": "201", "to_number": "2 0 1"}, "to_number", "cannot call itself"),
        ({"from_extension": "2 01", "to_number": "100"}, "from_extension", "letters, digits or _"),
        ({"from_extension": "201", "to_number": "100", "caller_id": "x"}, "caller_id", "unknown field"),
    ],
)
async def test_given_a_bad_click_to_dial_body_then_400_names_the_field(
    pbx_api: Api, sim: Sim, body: dict[str, Any], field: str, says: str
) -> None:
    status, answer = await pbx_api.post(ORIGINATE, json=body)
    assert status == 400, answer
    assert answer["error"]["field"] == field and says in answer["error"]["message"], answer
    assert sim.server.received["originate"] == 0


async def test_given_an_unknown_extension_then_404(pbx_api: Api, sim: Sim) -> None:
    status, body = await pbx_api.post(ORIGINATE, json={"from_extension": "7777", "to_number": "100"})
    assert status == 404 and body["error"]["field"] == "from_extension"
    assert sim.server.received["originate"] == 0


async def test_given_an_offline_or_busy_phone_then_409_and_nothing_is_dialled(pbx_api: Api, sim: Sim) -> None:
    phones.unregister(sim.pbx, "203")
    await until(lambda: str(pbx_api.daemon.tracker.line_view("203").status) == "offline")  # type: ignore[union-attr]
    status, body = await pbx_api.post(ORIGINATE, json={"from_extension": "203", "to_number": "100"})
    assert status == 409 and body["error"]["code"] == "line_offline"
    await answered_at(sim.pbx, pbx_api.daemon.tracker, "202")
    status, body = await pbx_api.post(ORIGINATE, json={"from_extension": "202", "to_number": "100"})
    assert status == 409 and body["error"]["code"] == "line_busy" and "talking" in body["error"]["message"]
    assert sim.server.received["originate"] == 0


async def test_given_a_phone_that_refuses_the_call_then_409_saying_so(pbx_api: Api, sim: Sim) -> None:
    sim.pbx.endpoints["201"].busy = True  # do not disturb: the line is ready, the phone answers 486
    status, body = await pbx_api.post(
        ORIGINATE, json={"from_extension": "201", "to_number": "+7 (916) 123-45-67"}
    )
    assert status == 409 and body["error"]["code"] == "phone_did_not_answer", body
    assert body["error"]["message"] == "201's phone did not take the call: busy"
    assert sim.server.received["originate"] == 1


async def test_given_a_number_with_separators_then_the_digits_are_dialled_and_the_ids_answered(
    pbx_api: Api, sim: Sim
) -> None:
    status, body = await pbx_api.post(
        ORIGINATE, json={"from_extension": "201", "to_number": " +7 (916) 123-45-67 "}
    )
    assert status == 201 and body["to_number"] == "+79161234567", body
    assert body["status"] in {"ringing", "answered"} and body["employee_id"] == "e-201"
    assert any(c.uniqueid == body["call_id"] for c in sim.pbx.channels.values())


async def test_given_the_ami_user_may_not_originate_then_502(pbx_api: Api, sim: Sim) -> None:
    sim.server.write = ("call", "system")
    status, body = await pbx_api.post(ORIGINATE, json={"from_extension": "201", "to_number": "100"})
    assert status == 502 and body["error"]["code"] == "ami_permission"


@pytest.mark.parametrize(
    ("unplugged", "rings"), [("2011", "PJSIP/201"), ("201", "PJSIP/2011"), (None, "PJSIP/2011")]
)
async def test_given_an_employee_with_two_phones_then_click_to_dial_rings_one_that_is_registered(
    sim: Sim,
    broker: LocalBroker,
    seeded_sqlite: tuple[str, SeedSummary],
    tmp_path: Path,
    unplugged: str | None,
    rings: str,
) -> None:
    sim.pbx.endpoints["2011"] = Endpoint("2011", "Staff 201 softphone")
    store = open_store(seeded_sqlite[0])
    async with store.session() as session:  # listed first: the softphone, then the desk phone
        await session.execute(
            update(Employee).where(Employee.id == "e-201").values(devices="PJSIP/2011 PJSIP/201")
        )
        await session.commit()
    await store.dispose()
    sim.pbx.speed = 0.1
    async with reception_api(
        ami_port=sim.port, mqtt_url=broker.url, db_url=seeded_sqlite[0], tmp_path=tmp_path
    ) as api:
        tracker = api.daemon.tracker
        if unplugged is not None:
            phones.unregister(sim.pbx, unplugged)
            await until(lambda: _devices_of(tracker, "201").get(f"pjsip/{unplugged}") == LineStatus.OFFLINE)
        line = tracker.line_view("201")
        assert line is not None and line.status is LineStatus.READY  # one phone is enough for the line
        status, body = await api.post(ORIGINATE, json={"from_extension": "201", "to_number": "100"})
        assert status == 201, body
        (leg,) = [c for c in sim.pbx.channels.values() if c.uniqueid == body["call_id"]]
        assert leg.device == rings
        sim.pbx.cancel_flows()


def _devices_of(tracker: CallTracker, extension: str) -> dict[str, LineStatus]:
    line = tracker.line_view(extension)
    return dict(line.devices) if line is not None else {}


async def test_given_a_missed_contact_when_called_back_with_its_id_then_the_new_outbound_contact_answers_it(
    pbx_api: Api, sim: Sim
) -> None:
    status, missed = await pbx_api.send(
        "POST", "/api/v1/contacts", {"type": "call", "caller": {"phone": "+79161234567"}}
    )
    assert status == 201, missed
    status, missed = await pbx_api.send(
        "POST", f"/api/v1/contacts/{missed['id']}/missed", {"reason": "hung up after 20 s"}
    )
    assert status == 200 and missed["status"] == "missed"
    body = {"from_extension": "100", "to_number": "+79161234567", "contact_id": missed["id"]}
    status, dialled = await pbx_api.post(ORIGINATE, json=body)
    assert status in (201, 202), dialled
    assert dialled["answers_contact_id"] == missed["id"] and dialled["from_extension"] == "100"
    assert dialled["contact_id"] != missed["id"]
    status, outbound = await pbx_api.get(f"/api/v1/contacts/{dialled['contact_id']}")
    assert status == 200, outbound
    assert outbound["direction"] == "outbound" and outbound["answers_contact_id"] == missed["id"]
    assert outbound["call_id"] == dialled["call_id"] and outbound["created_by"] == pbx_api.actor


async def test_given_an_unknown_contact_id_then_404_and_nothing_is_dialled(pbx_api: Api, sim: Sim) -> None:
    body = {"from_extension": "100", "to_number": "+79161234567", "contact_id": "no-such-contact"}
    status, answer = await pbx_api.post(ORIGINATE, json=body)
    assert status == 404 and answer["error"]["field"] == "contact_id", answer
    assert sim.server.received["originate"] == 0
