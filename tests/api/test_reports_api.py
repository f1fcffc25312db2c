"""GET /api/v1/reports/calls over the simulator's calls (issue 14, items 3 and 5), on SQLite and
PostgreSQL: the calls' times come from the PBX, the rows and the CSV say the same, bad parameters name
themselves."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti_daemon.ami.simulator import missed_calls
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.crm.reports import COLUMNS
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.desk import Desk, desk


@pytest.fixture
async def report_desk(sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    sim.pbx.speed = 0.1
    async with desk(ami_port=sim.port, mqtt_url=broker.url, store_url=store_url, tmp_path=tmp_path) as d:
        yield d
    sim.pbx.cancel_flows()


async def test_given_an_answered_and_a_missed_call_then_the_days_row_and_its_csv_count_them(
    report_desk: Desk, sim: Sim
) -> None:
    await place_inbound(sim.pbx, InboundCall("+79161234567", extension="100", ring_s=10, talk_s=20))
    await missed_calls.missed_at_employee(sim.pbx, InboundCall("+79035550101", extension="201", ring_s=5))
    await asyncio.sleep(0.1)
    daemon = report_desk.api.daemon
    await daemon.pops.idle()
    await daemon.call_facts.idle()
    status, body = await report_desk.api.get("/api/v1/reports/calls?group=day", token=report_desk.reception)
    assert status == 200, body
    [row] = body["rows"]
    assert (row["offered"], row["answered"], row["missed"], row["abandoned"]) == (2, 1, 1, 0)
    assert row["answer_rate"] == 0.5 and row["answer_p50_s"] is not None and row["talk_total_s"] >= 1
    status, _ = await report_desk.api.get("/api/v1/reports/calls?group=employee")
    assert status == 200
    async with report_desk.api.http.get(
        report_desk.api.url("/api/v1/reports/calls?group=day&format=csv"),
        headers={"Authorization": f"Bearer {report_desk.reception}"},
    ) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        lines = list(csv.reader(io.StringIO(await resp.text())))
    assert tuple(lines[0]) == COLUMNS and lines[1][:5] == [row["key"], "2", "1", "1", "0"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group=week", "group"),
        ("format=xml", "format"),
        ("from=2026-02-01T00:00Z&to=2026-01-01T00:00Z", "from"),
    ],
)
async def test_given_bad_report_parameters_then_400_names_the_field(
    report_desk: Desk, query: str, field: str
) -> None:
    status, body = await report_desk.api.get(f"/api/v1/reports/calls?{query}", token=report_desk.reception)
    assert status == 400 and body["error"]["field"] == field
