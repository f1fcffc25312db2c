"""Queue members' lines over real sockets: the simulator (202 and 201 static members of queue service, 100 of
reception, with their `Queue:` devices as Asterisk 22 lists them), the daemon's HTTP API, and what agents
see on mosquitto. A member's pause state is its line's `queues` field, never its status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.ami.simulator import phones
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api, reception_api
from tests.support.calls import answered_at, bridged_with, until_async
from tests.support.mqtt import Subscriber

UNPAUSED = {"service": {"paused": False, "reason": None}}


@dataclass
class Desk:
    api: Api
    sim: Sim
    agents: Subscriber

    async def line(self, extension: str) -> dict[str, Any]:
        status, body = await self.api.get(f"/api/v1/lines/{extension}")
        assert status == 200 and isinstance(body, dict), body
        return body

    async def line_becomes(self, extension: str, **fields: Any) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        async def reached() -> bool:
            seen.update(await self.line(extension))
            return all(seen.get(k) == v for k, v in fields.items())

        await until_async(reached, what=f"line {extension} {fields}")
        return seen


@pytest.fixture
async def desk(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Desk]:
    sim.pbx.speed = 0.1
    async with (
        Subscriber(broker.url, "cti/lines/#") as agents,
        reception_api(
            ami_port=sim.port,
            mqtt_url=broker.url,
            db_url=seeded_sqlite[0],
            tmp_path=tmp_path,
            routing={"transfer_confirm_s": 2.0},
        ) as api,
    ):
        ready = Desk(api, sim, agents)
        # The resync after the login has read the lists, `Queue:service_pause_PJSIP/202` NOT_INUSE among them.
        await ready.line_becomes("202", status="ready", queues=UNPAUSED)
        yield ready
    sim.pbx.cancel_flows()


async def test_given_queue_member_202_unregisters_then_its_line_is_offline_on_mqtt_and_the_api(
    desk: Desk,
) -> None:
    phones.unregister(desk.sim.pbx, "202")
    line = await desk.line_becomes("202", status="offline")
    assert line == {
        "extension": "202",
        "status": "offline",
        "employee_id": "e-202",
        "call_id": None,
        "queues": UNPAUSED,  # still a member: Asterisk keeps it in the queue (Status 5)
    }
    await desk.agents.wait_for("cti/lines/202", status="offline", queues=UNPAUSED)
    phones.register(desk.sim.pbx, "202")
    await desk.line_becomes("202", status="ready")
    await desk.agents.wait_for("cti/lines/202", status="ready", queues=UNPAUSED)


async def test_given_reception_100_unregisters_then_its_line_is_offline_too(desk: Desk) -> None:
    phones.unregister(desk.sim.pbx, "100")
    line = await desk.line_becomes("100", status="offline")
    assert line["queues"] == {"reception": {"paused": False, "reason": None}}


async def test_given_202_unregistered_then_a_blind_transfer_to_e202_is_refused_and_the_caller_stays(
    desk: Desk,
) -> None:
    api, pbx = desk.api, desk.sim.pbx
    phones.unregister(pbx, "202")
    await desk.line_becomes("202", status="offline")
    call = await answered_at(pbx, api.daemon.tracker)
    status, answer = await api.post(
        f"/api/v1/calls/{call.call_id}/transfer", json={"to_employee": "e-202", "mode": "blind"}
    )
    assert status == 409, answer
    assert answer["error"]["code"] == "line_offline" and answer["error"]["field"] == "to_employee"
    # Nothing was asked of the PBX: Asterisk would have said "Transfer succeeded" and cut the caller off.
    assert desk.sim.server.received["blindtransfer"] == 0
    assert bridged_with(pbx, call.caller) == ["PJSIP/100"]


async def test_given_202_paused_in_queue_service_then_its_line_stays_ready_and_shows_the_pause(
    desk: Desk,
) -> None:
    pbx = desk.sim.pbx
    assert pbx.queues.pause("service", "PJSIP/202", paused=True, reason="lunch")
    paused = {"service": {"paused": True, "reason": "lunch"}}
    line = await desk.line_becomes("202", queues=paused)
    assert line["status"] == "ready" and line["call_id"] is None
    await desk.agents.wait_for("cti/lines/202", status="ready", queues=paused)
    assert [m.payload["status"] for m in desk.agents.on("cti/lines/202")] == ["ready"] * len(
        desk.agents.on("cti/lines/202")
    ), "the pause never shows as a line status"
    pbx.queues.pause("service", "PJSIP/202", paused=False)
    await desk.line_becomes("202", status="ready", queues=UNPAUSED)
    await desk.agents.wait_for("cti/lines/202", status="ready", queues=UNPAUSED)
    _, lines = await desk.api.get("/api/v1/lines")
    by_ext = {line["extension"]: line for line in lines["lines"]}
    assert by_ext["201"]["queues"] == UNPAUSED and by_ext["203"]["queues"] == {}
