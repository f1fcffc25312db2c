"""Follow-up calls (seed 000, issue 14 item 4) on SQLite and PostgreSQL: created over HTTP and by
`cti-daemon import followups`, attempts with their outcomes, the maximum of attempts ending it
unreachable, a call back later with a new due time, and the due follow-up told once by two nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import AMI_SECRET, Sim, daemon_config
from tests.support.api import new_token, running_api, write_tokens
from tests.support.browser import give_passwords, page
from tests.support.desk import Desk, desk, seed_store
from tests.support.mqtt import Subscriber


def _later(hours: float = 24) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.fixture
async def followup_desk(sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    async with desk(
        ami_port=sim.port,
        mqtt_url=broker.url,
        store_url=store_url,
        tmp_path=tmp_path,
        routing={"followup_max_attempts": 2},
    ) as d:
        yield d


async def _create(d: Desk, **body: Any) -> dict[str, Any]:
    wanted = {"phone": "+79161234567", "reason": "after repair order RO-1234: check satisfaction"}
    status, created = await d.api.send(
        "POST", "/api/v1/followups", {**wanted, "due_at": _later(), **body}, token=d.reception
    )
    assert status == 201, created
    return dict(created)


async def _attempt(d: Desk, followup_id: str, **body: Any) -> tuple[int, Any]:
    return await d.api.send("POST", f"/api/v1/followups/{followup_id}/attempts", body, token=d.reception)


async def test_given_no_answer_up_to_the_maximum_then_the_follow_up_ends_unreachable(
    followup_desk: Desk,
) -> None:
    f = await _create(followup_desk, customer_id="c-00001", employee_id="e-201")
    assert f["status"] == "open" and f["attempts"] == 0
    status, after = await _attempt(followup_desk, f["id"], outcome="no_answer", note="rang out")
    assert status == 201 and after["status"] == "open" and after["attempts"] == 1
    status, after = await _attempt(followup_desk, f["id"], outcome="busy")
    assert status == 201 and after["status"] == "unreachable" and after["attempts"] == 2
    assert [(h["outcome"], h["note"]) for h in after["history"]] == [
        ("no_answer", "rang out"),
        ("busy", None),
    ]
    status, body = await _attempt(followup_desk, f["id"], outcome="reached")
    assert status == 409 and body["error"]["code"] == "followup_closed"


async def test_given_call_back_later_then_a_new_due_time_is_needed_and_kept(followup_desk: Desk) -> None:
    f = await _create(followup_desk, purpose="service")
    status, body = await _attempt(followup_desk, f["id"], outcome="call_back_later")
    assert status == 400 and body["error"]["field"] == "next_due_at"
    later = "2036-06-01T09:30:00Z"
    status, after = await _attempt(followup_desk, f["id"], outcome="call_back_later", next_due_at=later)
    assert status == 201 and after["status"] == "open"
    assert after["due_at"] == "2036-06-01T09:30:00.000Z"
    status, after = await _attempt(followup_desk, f["id"], outcome="reached", note="happy with the repair")
    assert after["status"] == "done"
    status, body = await _attempt(followup_desk, f["id"], outcome="maybe")
    assert status == 400 and body["error"]["field"] == "outcome"


async def test_given_bad_follow_ups_then_400_names_the_field(followup_desk: Desk) -> None:
    for body, field in [
        ({"employee_id": "e-999"}, "employee_id"),
        ({"purpose": "karaoke"}, "purpose"),
        ({}, "employee_id"),
        ({"employee_id": "e-201", "due_at": "tomorrow"}, "due_at"),
    ]:
        wanted = {"phone": "+7916", "reason": "service due", "due_at": _later(), **body}
        status, answer = await followup_desk.api.send(
            "POST", "/api/v1/followups", wanted, token=followup_desk.reception
        )
        assert status == 400 and answer["error"]["field"] == field, (body, answer)
    status, listed = await followup_desk.api.get(
        "/api/v1/followups?status=open", token=followup_desk.reception
    )
    assert status == 200 and listed["followups"] == []


async def test_given_two_nodes_when_a_follow_up_comes_due_then_its_employee_is_told_once(
    store_url: str, broker: LocalBroker, tmp_path: Path
) -> None:
    await seed_store(store_url)
    token = new_token()
    tokens = write_tokens(tmp_path, ("crm", token))
    async with AsyncExitStack() as stack:
        agents = await stack.enter_async_context(Subscriber(broker.url, "cti/agents/+/notify"))
        apis = []
        for node in ("a", "b"):
            server = await stack.enter_async_context(AmiServer(SimPbx(system_name=node), secret=AMI_SECRET))
            config = daemon_config(
                ami_port=server.port,
                mqtt_url=broker.url,
                db_url=store_url,
                mqtt={"node_id": node},
                routing={"due_check_s": 0.1},
                http={"tokens_file": str(tokens)},
            )
            apis.append(await stack.enter_async_context(running_api(config, token)))
        body = {
            "phone": "+79161234567",
            "reason": "service due",
            "due_at": _later(0.0003),
            "employee_id": "e-202",
        }
        status, f = await apis[0].send("POST", "/api/v1/followups", body)
        assert status == 201
        notice = await agents.wait_for("cti/agents/e-202/notify", kind="followup_due", followup_id=f["id"])
        assert notice.payload["phone"] == "+79161234567" and "service due" in notice.payload["text"]
        await apis[1].daemon.followups.tick()
        await apis[0].daemon.followups.tick()
        due = [m for m in agents.on("cti/agents/e-202/notify") if m.payload["kind"] == "followup_due"]
        assert len(due) == 1


async def test_given_pavel_signed_in_then_he_sees_his_and_services_follow_ups_and_not_the_report(
    followup_desk: Desk, store_url: str
) -> None:
    await give_passwords(store_url)
    his = await _create(followup_desk, employee_id="e-201")
    services = await _create(followup_desk, purpose="service")
    irinas = await _create(followup_desk, employee_id="e-202")
    async with page(followup_desk.api.base) as pavel:
        assert (await pavel.sign_in("porlov"))[0] == 200
        status, listed, _ = await pavel.call("GET", "/api/v1/followups")
        assert status == 200
        assert {f["id"] for f in listed["followups"]} == {his["id"], services["id"]}
        status, _, _ = await pavel.call("GET", f"/api/v1/followups/{irinas['id']}")
        assert status == 403
        status, after, _ = await pavel.call(
            "POST", f"/api/v1/followups/{his['id']}/attempts", {"outcome": "reached"}
        )
        assert status == 201 and after["status"] == "done"
        status, body, _ = await pavel.call("GET", "/api/v1/reports/calls")
        assert status == 403 and "the reception role" in body["error"]["message"]
        status, body, _ = await pavel.call("GET", "/api/v1/callbacks")
        assert status == 403
