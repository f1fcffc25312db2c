"""My follow-ups on the employee's page in Chromium, against the daemon with the simulator: a follow-up
made for e-201 over the API is listed on his page, one coming due arrives live with the followup_due
notify, Call rings his own phone, and the outcomes he clicks are recorded as attempts (a 409 said as a
sentence)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api, reception_api
from tests.support.browser import give_passwords
from tests.support.calls import until_async
from tests.web.conftest import signed_in

pytestmark = pytest.mark.browser


@pytest.fixture
async def desk(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    db_url, _ = seeded_sqlite
    await give_passwords(db_url)
    async with reception_api(
        ami_port=sim.port, mqtt_url=broker.url, db_url=db_url, tmp_path=tmp_path, routing={"due_check_s": 0.3}
    ) as api:
        yield api
    sim.pbx.cancel_flows()


async def _followup(desk: Api, phone: str, reason: str, due_in: timedelta) -> dict[str, Any]:
    due = (datetime.now(UTC) + due_in).isoformat()
    status, body = await desk.send(
        "POST", "/api/v1/followups", {"phone": phone, "reason": reason, "due_at": due, "employee_id": "e-201"}
    )
    assert status == 201, body
    return dict(body)


async def test_given_a_followup_for_e201_when_he_records_no_answer_then_reached_then_it_leaves_his_list(
    browser: Browser, desk: Api, sim: Sim
) -> None:
    later = await _followup(desk, "+79035550101", "service due: 60,000 km", timedelta(days=1))
    async with signed_in(browser, desk.base, "porlov") as t:
        await t.page.set_viewport_size({"width": 1280, "height": 1100})
        waiting = t.page.locator(f'.followup[data-followup-id="{later["id"]}"]')
        await expect(waiting).to_be_visible()
        await expect(waiting).to_have_attribute("data-due", "no")
        await expect(waiting.locator(".reason")).to_have_text("service due: 60,000 km")

        # Made while his page is open and due a moment later: the followup_due notify brings it, due.
        soon = await _followup(
            desk, "+79031234567", "after repair order RO-1234: check satisfaction", timedelta(seconds=1)
        )
        item = t.page.locator(f'.followup[data-followup-id="{soon["id"]}"]')
        await expect(item).to_have_attribute("data-due", "yes", timeout=10000)
        await expect(t.page.locator("#followups .followup").first).to_have_attribute(
            "data-followup-id", soon["id"]
        )
        await t.shot("followups.png")

        sim.pbx.speed = 0.1
        await item.locator("button.dial").click()
        await expect(t.page.locator("#toast")).to_contain_text("+79031234567")
        dialled: list[dict[str, Any]] = []

        async def his_phone_dialled() -> bool:
            _, listed = await desk.get("/api/v1/contacts?limit=50")
            dialled[:] = [c for c in listed["contacts"] if c.get("direction") == "outbound"]
            return bool(dialled)

        await until_async(his_phone_dialled, what="the outbound call from 201")  # his phone rang first
        assert dialled[0]["responsible_employee_id"] == "e-201"

        await item.locator('button[data-outcome="no_answer"]').click()
        await expect(item.locator(".attempts")).to_have_text("attempts: 1")
        await item.locator('button[data-outcome="reached"]').click()
        await expect(item).to_have_count(0)
        _, done = await desk.get(f"/api/v1/followups/{soon['id']}")
        assert done["status"] == "done"
        assert [a["outcome"] for a in done["history"]] == ["no_answer", "reached"]
        assert [a["actor"] for a in done["history"]] == ["porlov", "porlov"]

        # Closed by someone else meanwhile: his click is refused and said as a sentence.
        status, _ = await desk.send(
            "POST", f"/api/v1/followups/{later['id']}/attempts", {"outcome": "declined"}
        )
        assert status == 201
        await waiting.locator('button[data-outcome="busy"]').click()
        await expect(waiting.locator(".error")).to_have_text(
            "This follow-up is already closed; nothing more can be recorded on it."
        )
