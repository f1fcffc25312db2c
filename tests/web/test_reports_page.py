"""The call report page in Chromium, against the daemon with the simulator: calls ring (answered and
missed), reception reads the counts in the table and sees the bars; an employee is refused the page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.crm.seed import SeedSummary
from tests.conftest import Sim
from tests.support.api import Api
from tests.support.browser import page
from tests.support.calls import until_async
from tests.web.conftest import signed_in, tab

pytestmark = pytest.mark.browser


async def _today(site: Api) -> dict[str, Any]:
    status, body = await site.get("/api/v1/reports/calls?group=day")
    assert status == 200, body
    return {"offered": sum(r["offered"] for r in body["rows"]), "rows": body["rows"]}


async def test_given_answered_and_missed_calls_when_reception_opens_the_report_then_table_and_bars_count_them(
    browser: Browser, site: Api, sim: Sim, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    known = seeded_sqlite[1].known_numbers
    # One answered at once, one after 1.2 s of ringing: p50 and p90 of the time to answer differ.
    for number, ring_s in zip(known[:2], (0.1, 1.2), strict=True):
        await place_inbound(sim.pbx, InboundCall(number, "", extension="100", ring_s=ring_s, talk_s=0.2))
    await place_inbound(sim.pbx, InboundCall(known[2], "", extension="100", answer=False, ring_s=0.3))

    async def counted() -> bool:
        return bool((await _today(site))["offered"] == 3)

    await until_async(counted, what="three calls in the report")
    (row,) = (await _today(site))["rows"]
    assert (row["answered"], row["missed"]) == (2, 1)

    async with tab(browser, site.base) as t:
        await t.page.set_viewport_size({"width": 1400, "height": 900})
        await t.sign_in("asmirnova")
        await t.page.wait_for_selector("body.console-page")
        await t.page.focus("#reports-link")
        await t.page.keyboard.press("Enter")  # the report is reached from the keyboard
        await t.page.wait_for_selector("body.reports-page[data-ready]")
        line = t.page.locator(f'#report-rows tr[data-key="{row["key"]}"]')
        await expect(line.locator('td[data-col="offered"]')).to_have_text("3")
        await expect(line.locator('td[data-col="answered"]')).to_have_text("2")
        await expect(line.locator('td[data-col="missed"]')).to_have_text("1")
        await expect(line.locator('td[data-col="answer_rate"]')).to_contain_text("66.7")
        assert await t.page.locator("#report-head th").count() == 12
        bars = t.page.locator(f'#chart svg g.chart-row[data-key="{row["key"]}"] rect')
        assert [await b.get_attribute("data-value") for b in await bars.all()] == ["3", "2", "1"]
        widths = [float(await b.get_attribute("width") or 0) for b in await bars.all()]
        assert widths[0] > widths[1] > widths[2] > 0
        # The times to answer, p50 and p90 of the answered calls, as the report says them.
        times = t.page.locator(f'#chart-times svg g.chart-row[data-key="{row["key"]}"] rect')
        shown = [await b.get_attribute("data-value") for b in await times.all()]
        assert shown == [str(row["answer_p50_s"]), str(row["answer_p90_s"])]
        assert row["answer_p90_s"] > row["answer_p50_s"]
        href = await t.page.get_attribute("#rp-csv", "href")
        assert href and "format=csv" in href
        csv_text = await t.page.evaluate("(u) => fetch(u).then((r) => r.text())", href)
        assert csv_text.splitlines()[0].startswith("key,offered,answered,missed")
        # Grouped by employee, from the keyboard: the answered calls are reception's.
        await t.page.focus("#rp-group")
        await t.page.keyboard.press("ArrowDown")
        await t.page.keyboard.press("ArrowDown")
        await expect(t.page.locator("#rp-group")).to_have_value("employee")
        await expect(t.page.locator('#report-rows th[scope="row"]').first).to_be_visible()
        await t.page.select_option("#rp-group", "day")
        await expect(line.locator('td[data-col="offered"]')).to_have_text("3")
        await t.shot("console-report.png")
        await t.page.select_option("#lang", "ru")
        await expect(t.page.locator('#report-head th[data-col="missed"]')).to_have_text("Пропущено")
        await expect(t.page.locator("#rp-csv")).to_have_text("Скачать CSV")


async def test_given_an_employee_then_the_report_page_and_its_api_are_refused(
    browser: Browser, site: Api
) -> None:
    async with page(site.base) as pavel:
        assert (await pavel.sign_in("porlov"))[0] == 200
        async with pavel.http.get(site.base + "/reports") as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "forbidden"
        async with pavel.http.get(site.base + "/api/v1/reports/calls") as resp:
            assert resp.status == 403
    async with (
        page(site.base) as nobody,
        nobody.http.get(site.base + "/reports", allow_redirects=False) as resp,
    ):
        assert resp.status == 303 and resp.headers["Location"] == "/"
    async with signed_in(browser, site.base, "porlov") as t:
        assert await t.page.locator("#reports-link").count() == 0
