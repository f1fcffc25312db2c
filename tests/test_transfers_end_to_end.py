"""Transfers and click to dial over real sockets: HTTP in, AMI actions to the simulator (TCP), the PBX's
events back, and what agents see on mosquitto (lines, pops, the transfer notify)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.ami.simulator import flows
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api, reception_api
from tests.support.calls import CALLER, answered_at, bridged_with, ringing_devices, until, until_async
from tests.support.mqtt import Subscriber


@dataclass
class Desk:
    """Reception's console (the API), the PBX (the simulator) and everything agents receive."""

    api: Api
    sim: Sim
    agents: Subscriber

    def statuses(self, extension: str) -> list[str]:
        """The line's statuses on cti/lines/{extension}, repeats removed (the retained first one too)."""
        out: list[str] = []
        for msg in self.agents.on(f"cti/lines/{extension}"):
            if not out or out[-1] != msg.payload["status"]:
                out.append(msg.payload["status"])
        return out

    async def line_becomes(self, extension: str, status: str) -> None:
        await until(lambda: self.statuses(extension)[-1:] == [status], what=f"line {extension} {status}")

    async def transfer_reaches(self, transfer_id: str, status: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        async def reached() -> bool:
            _, body = await self.api.get(f"/api/v1/transfers/{transfer_id}")
            seen.update(body)
            return bool(body["status"] == status)

        await until_async(reached, what=f"transfer {status}")
        return seen


@pytest.fixture
async def desk(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Desk]:
    sim.pbx.speed = 0.1
    async with (
        Subscriber(broker.url, "cti/#") as agents,
        reception_api(
            ami_port=sim.port,
            mqtt_url=broker.url,
            db_url=seeded_sqlite[0],
            tmp_path=tmp_path,
            routing={"transfer_confirm_s": 2.0},
        ) as api,
    ):
        yield Desk(api, sim, agents)
    sim.pbx.cancel_flows()


async def test_given_a_call_answered_at_100_when_blind_transferred_to_e201_then_201_rings_answers_and_pops(
    desk: Desk,
) -> None:
    api, pbx = desk.api, desk.sim.pbx
    pbx.endpoints["201"].answer_after_s = None  # 201's phone rings until the test picks it up
    call = await answered_at(pbx, api.daemon.tracker)
    status, transfer = await api.post(f"/api/v1/calls/{call.call_id}/transfer", json={"to_employee": "e-201"})
    # The answer comes once the PBX reported 201 ringing: the simulator has it ringing with this call.
    assert status == 201, transfer
    assert transfer["status"] == "ringback" and transfer["mode"] == "blind"
    assert (transfer["from_extension"], transfer["to_extension"]) == ("100", "201")
    assert transfer["to_employee_id"] == "e-201" and transfer["call_id"] == call.call_id
    assert ringing_devices(pbx, call.call_id) == ["PJSIP/201"]
    assert bridged_with(pbx, call.caller) == [], "the caller left reception and waits for 201"
    _, followed = await api.get(f"/api/v1/transfers/{transfer['id']}")
    assert followed["status"] == "ringback"

    assert pbx.pick_up("201")
    done = await desk.transfer_reaches(transfer["id"], "completed")
    assert done["reason"] is None
    assert bridged_with(pbx, call.caller) == ["PJSIP/201"]

    agents = desk.agents
    await desk.line_becomes("201", "talking")
    await desk.line_becomes("100", "ready")
    assert desk.statuses("100")[-3:] == ["ringing", "talking", "ready"]
    assert desk.statuses("201")[-2:] == ["ringing", "talking"]
    pop = await agents.wait_for("cti/agents/e-201/popup", type="popup", call_id=call.call_id)
    assert pop.payload["caller"]["raw"] == CALLER[0] and pop.payload["caller"]["name"] == CALLER[1]
    assert pop.payload["extension"] == "201"
    notice = await agents.wait_for("cti/agents/e-201/notify", kind="transfer")
    assert notice.payload["transfer_id"] == transfer["id"] and notice.payload["call_id"] == call.call_id
    # The ring at reception registered a contact: the notify names it and says what the journal knows.
    assert notice.payload["contact_id"]
    assert (
        notice.payload["text"] == f"Call put through to you from 100: call from {CALLER[1]} — no purpose yet"
    )
    assert notice.payload["caller"] == {"number": CALLER[0], "name": CALLER[1]}
    assert notice.at <= pop.at + 1.0  # sent when 201 started ringing, not later
    dismissed = await agents.wait_for("cti/agents/e-100/popup", type="dismiss", call_id=call.call_id)
    assert dismissed.payload["reason"] == "transferred"
    assert not agents.on("cti/agents/e-100/notify"), "only the target is told"


async def test_given_a_call_ringing_at_reception_when_put_through_to_e201_then_201_pops_it_with_its_contact(
    desk: Desk,
) -> None:
    api, pbx, agents = desk.api, desk.sim.pbx, desk.agents
    pbx.endpoints["100"].answer_after_s = None  # reception is with a visitor: the call rings on
    pbx.endpoints["201"].answer_after_s = None
    pbx.spawn(place_inbound(pbx, InboundCall(CALLER[0], CALLER[1], ring_s=50, talk_s=None)))
    first = await agents.wait_for("cti/agents/e-100/popup", type="popup")
    call_id, contact_id = first.payload["call_id"], first.payload["contact_id"]
    assert contact_id, "the ring at reception registered the call"

    status, transfer = await api.post(f"/api/v1/calls/{call_id}/transfer", json={"to_employee": "e-201"})
    assert status == 201 and transfer["status"] == "ringback", transfer
    assert (transfer["from_extension"], transfer["contact_id"]) == ("100", contact_id)
    assert ringing_devices(pbx, call_id) == ["PJSIP/201"], "100 stopped ringing, 201 rings"
    closed = await agents.wait_for("cti/agents/e-100/popup", type="dismiss", call_id=call_id)
    assert closed.payload["reason"] == "transferred"  # not "the caller hung up": they are on 201's phone
    pop = await agents.wait_for("cti/agents/e-201/popup", type="popup", call_id=call_id)
    assert pop.payload["contact_id"] == contact_id and pop.payload["caller"]["raw"] == CALLER[0]
    notice = await agents.wait_for("cti/agents/e-201/notify", kind="transfer")
    assert notice.payload["call_id"] == call_id and "from 100" in notice.payload["text"]

    assert pbx.pick_up("201")
    await desk.transfer_reaches(transfer["id"], "completed")
    (trunk,) = [c for c in pbx.channels.values() if c.device == "PJSIP/trunk"]
    assert bridged_with(pbx, trunk) == ["PJSIP/201"]
    flows.hangup(pbx, trunk, 16)
    seen: dict[str, Any] = {}

    async def facts_written() -> bool:
        _, contact = await api.get(f"/api/v1/contacts/{contact_id}")
        seen.update(contact)
        return bool((contact.get("call") or {}).get("outcome"))

    await until_async(facts_written, what="the call's facts on its contact")
    assert seen["status"] != "missed" and seen["call"]["outcome"] == "answered"
    assert seen["call"]["answered_by"] == "e-201"


async def test_given_an_attended_transfer_when_201_answers_and_it_is_completed_then_the_caller_is_with_201(
    desk: Desk,
) -> None:
    api, pbx = desk.api, desk.sim.pbx
    pbx.endpoints["201"].answer_after_s = None
    call = await answered_at(pbx, api.daemon.tracker)
    status, transfer = await api.post(
        f"/api/v1/calls/{call.call_id}/transfer", json={"to_extension": "201", "mode": "attended"}
    )
    assert status == 201 and transfer["status"] == "ringback" and transfer["to_employee_id"] == "e-201"
    assert pbx.pick_up("201")
    await desk.transfer_reaches(transfer["id"], "answered")
    # The consultation: 100 talks with 201, the caller waits on hold alone in its bridge.
    assert bridged_with(pbx, call.caller) == [] and call.caller.bridge is not None
    view = api.daemon.tracker.call_view(call.call_id)
    assert view is not None and set(view.talking) == {"100", "201"}

    status, completed = await api.post(f"/api/v1/transfers/{transfer['id']}/complete")
    assert status == 200 and completed["status"] == "completed", completed
    assert bridged_with(pbx, call.caller) == ["PJSIP/201"]
    assert not [c for c in pbx.channels.values() if c.device == "PJSIP/100"], "100 is free"
    await until(lambda: api.daemon.tracker.call_view(call.call_id).talking == ("201",))  # type: ignore[union-attr]
    await desk.line_becomes("100", "ready")
    await desk.line_becomes("201", "talking")  # published long before; delivered in its turn
    notice = await desk.agents.wait_for("cti/agents/e-201/notify", kind="transfer")
    assert notice.payload["mode"] == "attended" and "100 speaks to you first" in notice.payload["text"]


async def test_given_an_answered_attended_transfer_when_cancelled_then_100_has_the_caller_and_201_no_pop(
    desk: Desk,
) -> None:
    api, pbx = desk.api, desk.sim.pbx
    pbx.endpoints["201"].answer_after_s = None
    call = await answered_at(pbx, api.daemon.tracker)
    _, transfer = await api.post(
        f"/api/v1/calls/{call.call_id}/transfer", json={"to_employee": "e-201", "mode": "attended"}
    )
    assert pbx.pick_up("201")
    await desk.transfer_reaches(transfer["id"], "answered")
    status, second = await api.post(f"/api/v1/calls/{call.call_id}/transfer", json={"to_extension": "202"})
    assert status == 409 and transfer["id"] in second["error"]["message"]

    status, cancelled = await api.post(f"/api/v1/transfers/{transfer['id']}/cancel")
    assert status == 200 and cancelled["status"] == "abandoned"
    assert cancelled["reason"] == "cancelled by reception-console; the caller is back with 100"
    assert bridged_with(pbx, call.caller) == ["PJSIP/100"]
    assert not [c for c in pbx.channels.values() if c.device == "PJSIP/201"]
    _, view = await api.get(f"/api/v1/calls/{call.call_id}")
    assert view["talking"] == ["100"] and view["ringing"] == []
    await desk.line_becomes("201", "ready")
    await desk.line_becomes("100", "talking")  # it never stopped talking (published before the cancel)
    # 201's pop, opened for the consultation, closes: the call was not 201's to take.
    closed = await desk.agents.wait_for("cti/agents/e-201/popup", type="dismiss", call_id=call.call_id)
    assert closed.payload["reason"] == "transfer_cancelled"
    # Over: the call can be transferred again.
    pbx.endpoints["202"].answer_after_s = None
    status, again = await api.post(f"/api/v1/calls/{call.call_id}/transfer", json={"to_extension": "202"})
    assert status == 201 and again["status"] == "ringback"


async def test_given_click_to_dial_from_201_to_100_then_201_rings_first_naming_100_then_100_rings(
    desk: Desk,
) -> None:
    api, pbx = desk.api, desk.sim.pbx
    pbx.endpoints["201"].answer_after_s = None
    status, dialled = await api.post(
        "/api/v1/calls/originate", json={"from_extension": "201", "to_number": "100"}
    )
    assert status == 201 and dialled["status"] == "ringing", dialled
    assert dialled["from_extension"] == "201" and dialled["employee_id"] == "e-201"
    call_id = dialled["call_id"]
    # The id the daemon chose is the call's id at the PBX (ChannelId): 201's phone rings with it.
    (chan,) = [c for c in pbx.channels.values() if c.uniqueid == call_id]
    assert chan.device == "PJSIP/201" and chan.state == 5
    assert desk.sim.server.received["originate"] == 1
    assert pbx.pick_up("201")
    pop = await desk.agents.wait_for("cti/agents/e-100/popup", type="popup", call_id=call_id)
    assert pop.payload["caller"]["raw"] == "201"
    await desk.line_becomes("100", "talking")
    assert desk.statuses("201")[-2:] == ["ringing", "talking"]
    # The one who dials has a pop naming the number dialled, an outbound call: no contact of the journal.
    own = await desk.agents.wait_for("cti/agents/e-201/popup", type="popup", call_id=call_id)
    assert own.payload["caller"]["raw"] == "100" and own.payload["direction"] == "outbound"
    assert own.payload["contact_id"] is None
    _, call = await api.get(f"/api/v1/calls/{call_id}")
    assert call["talking"] == ["100"] and call["caller"]["number"] == "201"


async def test_given_reception_registers_the_call_for_201_and_transfers_it_then_201_pops_with_the_description(
    desk: Desk,
) -> None:
    """Issue 5's reception flow: ring at 100 -> pop at e-100 -> contact completed (service, responsible 201,
    a description) -> transfer -> 201 rings then talks -> 201's pop carries the description."""
    api, pbx = desk.api, desk.sim.pbx
    pbx.endpoints["201"].answer_after_s = None
    call = await answered_at(pbx, api.daemon.tracker)
    first = await desk.agents.wait_for("cti/agents/e-100/popup", type="popup", call_id=call.call_id)
    contact_id = first.payload["contact_id"]
    assert contact_id and first.payload["caller"]["raw"] == CALLER[0]
    _, card = await api.get("/api/v1/customers/c-00001")
    car = card["vehicles"][0]["id"]
    status, contact = await api.send(
        "POST",
        "/api/v1/contacts",
        {
            "type": "call",
            "call_id": call.call_id,
            "purpose": "service",
            "responsible_employee_id": "e-201",
            "description": "клиент жалуется на стук в подвеске",
            "vehicle_id": car,
        },
    )
    assert status == 200 and contact["id"] == contact_id, contact  # the ring's contact, completed
    assert contact["status"] == "assigned" and contact["responsible_employee_id"] == "e-201"
    assigned = await desk.agents.wait_for("cti/agents/e-201/notify", kind="assigned", contact_id=contact_id)
    assert "стук в подвеске" in assigned.payload["text"]
    status, transfer = await api.post(f"/api/v1/calls/{call.call_id}/transfer", json={"to_employee": "e-201"})
    assert status == 201 and transfer["status"] == "ringback", transfer
    assert ringing_devices(pbx, call.call_id) == ["PJSIP/201"]
    pop = await desk.agents.wait_for("cti/agents/e-201/popup", type="popup", call_id=call.call_id)
    assert pop.payload["contact_id"] == contact_id
    assert pop.payload["contact"]["description"] == "клиент жалуется на стук в подвеске"
    assert pop.payload["contact"]["vehicle_id"] == car  # the car reception chose
    assert pop.payload["purpose"] == {"code": "service", "sub": None, "auto": False}
    assert pop.payload["caller"]["raw"] == CALLER[0]  # the real caller, not reception
    assert pbx.pick_up("201")
    await desk.transfer_reaches(transfer["id"], "completed")
    assert bridged_with(pbx, call.caller) == ["PJSIP/201"]
    await desk.line_becomes("100", "ready")
    await desk.line_becomes("201", "talking")
    assert desk.statuses("100")[-3:] == ["ringing", "talking", "ready"]
    assert desk.statuses("201")[-2:] == ["ringing", "talking"]
    _, journal = await api.get(f"/api/v1/contacts/{contact_id}")
    kinds = [h["kind"] for h in journal["history"]]
    assert kinds[:2] == ["registered", "completed"] and "transfer" in kinds
    transfers = [h["data"] for h in journal["history"] if h["kind"] == "transfer"]
    assert [t["status"] for t in transfers][-2:] == ["ringback", "completed"]


async def test_given_the_transfer_button_then_the_contact_is_saved_and_the_call_put_through(
    desk: Desk,
) -> None:
    """Seed 003: "Transfer" instead of "Register": only the employee is needed, and the call goes to them."""
    api, pbx = desk.api, desk.sim.pbx
    pbx.endpoints["202"].answer_after_s = None
    call = await answered_at(pbx, api.daemon.tracker, number="anonymous", name="Anonymous")
    status, contact = await api.send(
        "POST",
        "/api/v1/contacts",
        {"type": "call", "call_id": call.call_id, "transfer": True, "responsible_employee_id": "e-202"},
    )
    assert status == 200 and contact["status"] == "assigned", contact
    assert contact["transfer"]["status"] == "ringback" and contact["transfer"]["to_extension"] == "202"
    assert ringing_devices(pbx, call.call_id) == ["PJSIP/202"]
    pop = await desk.agents.wait_for("cti/agents/e-202/popup", type="popup", call_id=call.call_id)
    assert pop.payload["contact_id"] == contact["id"] and pop.payload["identified"] is False


async def test_given_a_call_that_rang_reception_then_the_call_and_its_transfer_name_the_contact_of_the_pop(
    desk: Desk,
) -> None:
    api, pbx = desk.api, desk.sim.pbx
    pbx.endpoints["201"].answer_after_s = None
    call = await answered_at(pbx, api.daemon.tracker)
    pop = await desk.agents.wait_for("cti/agents/e-100/popup", type="popup", call_id=call.call_id)
    contact_id = pop.payload["contact_id"]
    assert contact_id
    ringing = await desk.agents.wait_for(f"cti/calls/{call.call_id}", event="ringing")
    assert ringing.payload["contact_id"] == contact_id

    _, one = await api.get(f"/api/v1/calls/{call.call_id}")
    _, listing = await api.get("/api/v1/calls")
    assert one["contact_id"] == contact_id
    assert [c["contact_id"] for c in listing["calls"] if c["call_id"] == call.call_id] == [contact_id]

    status, transfer = await api.post(f"/api/v1/calls/{call.call_id}/transfer", json={"to_employee": "e-201"})
    assert status == 201, transfer
    assert transfer["contact_id"] == contact_id
    _, followed = await api.get(f"/api/v1/transfers/{transfer['id']}")
    assert followed["contact_id"] == contact_id
    notice = await desk.agents.wait_for("cti/agents/e-201/notify", kind="transfer")
    assert notice.payload["contact_id"] == contact_id
    assert pbx.pick_up("201")
    done = await desk.transfer_reaches(transfer["id"], "completed")
    assert done["contact_id"] == contact_id
