"""The daemon's task that fills the call report's cache (issue 14, item 5), driven directly on SQLite and
PostgreSQL: it caches every grouping's closed days since the first contact (at most 400 days back), says
so in one log line, fills a day again after a write dropped it, runs again after UTC midnight, and tries
again later while the store is away."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from cti_daemon.crm.models import Contact
from cti_daemon.crm.report_cache import CallReports, cached_days
from cti_daemon.crm.report_warmer import ReportCacheWarmer
from cti_daemon.crm.reports import GROUPINGS, call_report
from cti_daemon.crm.store import Store, open_store
from cti_daemon.ids import uuid7

NOW = datetime(2026, 3, 12, 23, 59, 59, 900_000, tzinfo=UTC)
TODAY = NOW.date()


async def _calls(store: Store, *days_ago: int) -> list[str]:
    calls = [
        Contact(
            id=uuid7(),
            type="call",
            status="finalized",
            created_at=NOW - timedelta(days=n, hours=3),
            outcome="answered",
            answer_s=n,
            talk_s=60,
        )
        for n in days_ago
    ]
    async with store.session() as session, session.begin():
        session.add_all(calls)
    return [c.id for c in calls]


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days)}


def _events(capsys: pytest.CaptureFixture[str], name: str) -> list[dict[str, Any]]:
    lines = capsys.readouterr().err.splitlines()
    return [e for e in (json.loads(x) for x in lines if x.startswith("{")) if e["event"] == name]


async def test_given_contacts_over_past_days_when_the_warmer_runs_then_each_closed_day_is_cached_once(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await _calls(store, 10, 3, 0)
    reports = CallReports(store, lambda: NOW)
    warmer = ReportCacheWarmer(reports, pause_s=0)
    assert await warmer.warm() == 10  # from the first contact's day to yesterday; today is not closed
    for grouping in GROUPINGS:
        got = await cached_days(store, grouping, TODAY - timedelta(days=400), TODAY + timedelta(days=1))
        assert got == _days(TODAY - timedelta(days=10), TODAY), grouping
    [filled] = _events(capsys, "report_cache.filled")
    assert filled["days"] == 10 and filled["seconds"] >= 0
    assert await warmer.warm() == 0
    # A late change drops its day; the next run fills that day alone, and the report reads it.
    async with store.session() as session, session.begin():
        await session.execute(update(Contact).where(Contact.id == ids[1]).values(outcome="missed"))
    assert await warmer.warm() == 1
    span = (NOW - timedelta(days=11), NOW)
    for grouping in GROUPINGS:
        assert await reports.report(*span, grouping) == await call_report(store, *span, grouping)


async def test_given_contacts_older_than_the_horizon_then_the_warmer_fills_only_the_last_days(
    store: Store,
) -> None:
    await _calls(store, 30, 2)
    warmer = ReportCacheWarmer(CallReports(store, lambda: NOW), days_back=20, pause_s=0)
    assert await warmer.warm() == 20
    assert await cached_days(store, "hour", TODAY - timedelta(days=60), TODAY) == _days(
        TODAY - timedelta(days=20), TODAY
    )


async def test_given_the_warmer_running_when_utc_midnight_passes_then_it_caches_the_day_that_closed(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    await _calls(store, 1, 0)
    clock = [NOW]  # 100 ms before midnight
    warmer = ReportCacheWarmer(
        CallReports(store, lambda: clock[0]), pause_s=0, start_delay_s=0, after_midnight_s=0
    )
    task = asyncio.create_task(warmer.run())
    try:
        filled: list[dict[str, Any]] = []
        while not filled:
            await asyncio.sleep(0.01)
            filled += _events(capsys, "report_cache.filled")
        assert (
            filled[0]["days"] == 1
            and await cached_days(store, "day", TODAY, TODAY + timedelta(days=1)) == set()
        )
        clock[0] = NOW + timedelta(seconds=1)  # the clock passes midnight while the task sleeps until it
        filled = []
        while not filled:
            await asyncio.sleep(0.01)
            filled += _events(capsys, "report_cache.filled")
        assert filled[0]["days"] == 1
        assert await cached_days(store, "day", TODAY, TODAY + timedelta(days=1)) == {TODAY}
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_given_the_store_away_when_the_warmer_runs_then_it_says_so_and_tries_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    away = open_store("postgresql+asyncpg://cti@127.0.0.1:1/cti", statement_timeout_s=1.0)
    warmer = ReportCacheWarmer(CallReports(away, lambda: NOW), start_delay_s=0, retry_s=0.01)
    task = asyncio.create_task(warmer.run())
    try:
        failed: list[dict[str, Any]] = []
        while len(failed) < 2:
            await asyncio.sleep(0.01)
            failed += _events(capsys, "report_cache.fill_failed")
        assert "Connect" in failed[0]["reason"] or "refused" in failed[0]["reason"]
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await away.dispose()
