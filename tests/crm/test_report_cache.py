"""The call report's cache of closed days (issue 14, item 5) on SQLite and PostgreSQL: a cached day is
dropped by any write to a contact of that day, whichever code path or SQL makes it, and the next report
equals the one computed from the contacts alone (crm/reports.py call_report, itself checked against plain
Python in test_reports_reference.py); a fill never stores a day while a write to it is in flight; the
partial days at a span's edges and today are computed, never cached."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, text, update

from cti_daemon.crm.call_facts_store import close_callbacks, write_facts
from cti_daemon.crm.journal_store import ContactRecord, EventRecord, JournalStore
from cti_daemon.crm.models import Contact, Employee
from cti_daemon.crm.report_cache import CallReports, cached_days
from cti_daemon.crm.reports import GROUPINGS, ReportRow, call_report
from cti_daemon.crm.retention import prune_journal
from cti_daemon.crm.store import Store
from cti_daemon.ids import uuid7

MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
NOW = datetime(2026, 3, 5, 15, 30, tzinfo=UTC)  # Thursday afternoon: Monday to Wednesday are closed
SPAN = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _call(at: datetime, outcome: str | None, **more: Any) -> Contact:
    return Contact(
        id=uuid7(), type="call", status="finalized", created_at=at, outcome=outcome, rang_at=at, **more
    )


async def _desk(store: Store) -> dict[str, str]:
    """A call or two on each day from Monday to Thursday (today): name -> contact id."""
    calls = {
        "mon_answered": _call(_at(MON, 9), "answered", answer_s=4, talk_s=60, answered_by="e-201"),
        "mon_missed": _call(
            _at(MON, 10), "missed", responsible_employee_id="e-202", caller_e164="+79161234567"
        ),
        "tue_answered": _call(_at(TUE, 11), "answered", answer_s=9, talk_s=30, answered_by="e-202"),
        "wed_abandoned": _call(_at(WED, 23, 59), "abandoned", purpose="service"),
        "thu_answered": _call(_at(NOW.date(), 8), "answered", answer_s=2, talk_s=5, answered_by="e-201"),
    }
    async with store.session() as session, session.begin():
        session.add_all([Employee(id="e-201", name="P"), Employee(id="e-202", name="I")])
        await session.flush()
        session.add_all(calls.values())
    return {name: c.id for name, c in calls.items()}


async def _cache_every_grouping(reports: CallReports) -> None:
    for grouping in GROUPINGS:
        await reports.report(*SPAN, grouping)
        assert await cached_days(reports.store, grouping, MON, NOW.date()) == {MON, TUE, WED}


async def _cached(store: Store) -> set[date]:
    """The days every grouping has cached."""
    days = [
        await cached_days(store, g, MON - timedelta(days=7), NOW.date() + timedelta(days=7))
        for g in GROUPINGS
    ]
    return set.intersection(*days)


async def _report_is_the_live_one(reports: CallReports, start: datetime, end: datetime) -> list[ReportRow]:
    """Every grouping's report equals the live computation; the day grouping's rows are returned."""
    for grouping in GROUPINGS:
        assert await reports.report(start, end, grouping) == await call_report(
            reports.store, start, end, grouping
        )
    return await reports.report(start, end, "day")


async def test_given_cached_days_when_the_journal_changes_and_adds_contacts_then_their_days_are_recomputed(
    store: Store,
) -> None:
    ids = await _desk(store)
    reports = CallReports(store, lambda: NOW)
    await _cache_every_grouping(reports)
    journal = JournalStore(store)
    # Reception sets Monday's missed call's purpose; a contact of Tuesday's comes back from the spool late.
    event = EventRecord(id=uuid7(), at=NOW, actor="e-100", kind="edited")
    await journal.update(ids["mon_missed"], {"purpose": "showroom"}, expected_version=1, event=event)
    late = ContactRecord(
        id=uuid7(), type="call", status="missed", created_at=_at(TUE, 17), created_by=None, outcome="missed"
    )
    assert await journal.insert(late)
    assert await _cached(store) == {WED}
    by_day = {r.key: r for r in await _report_is_the_live_one(reports, *SPAN)}
    assert (by_day["2026-03-03"].offered, by_day["2026-03-03"].missed) == (2, 1)
    purposes = {r.key: r.offered for r in await reports.report(*SPAN, "purpose")}
    assert purposes == {"": 4, "showroom": 1, "service": 1}
    assert await _cached(store) == {MON, TUE, WED}  # filled again on the way


async def test_given_cached_days_when_the_pbx_facts_and_a_callback_arrive_then_their_days_are_recomputed(
    store: Store,
) -> None:
    ids = await _desk(store)
    reports = CallReports(store, lambda: NOW)
    await _cache_every_grouping(reports)
    await write_facts(store, ids["tue_answered"], {"answer_s": 30, "talk_s": 90})
    assert await _cached(store) == {MON, WED}
    await close_callbacks(store, "+79161234567", NOW, "callback", None)
    assert await _cached(store) == {WED}
    by_day = {r.key: r for r in await _report_is_the_live_one(reports, *SPAN)}
    assert (by_day["2026-03-02"].callbacks, by_day["2026-03-03"].talk_total_s) == (1, 90)


async def test_given_cached_days_when_contacts_are_deleted_then_their_days_are_recomputed(
    store: Store,
) -> None:
    ids = await _desk(store)
    reports = CallReports(store, lambda: NOW)
    await _cache_every_grouping(reports)
    pruned = await prune_journal(store, _at(MON, 12))  # retention: Monday's closed contacts go
    assert pruned.deleted == 2
    assert await _cached(store) == {TUE, WED}
    async with store.session() as session, session.begin():
        await session.execute(delete(Contact).where(Contact.id == ids["wed_abandoned"]))
    assert await _cached(store) == {TUE}
    assert [(r.key, r.offered) for r in await _report_is_the_live_one(reports, *SPAN)] == [
        ("2026-03-03", 1),
        ("2026-03-05", 1),
    ]


async def test_given_cached_days_when_sql_by_hand_moves_a_contact_to_another_day_then_both_are_recomputed(
    store: Store,
) -> None:
    ids = await _desk(store)
    reports = CallReports(store, lambda: NOW)
    await _cache_every_grouping(reports)
    async with store.session() as session, session.begin():
        await session.execute(
            update(Contact).where(Contact.id == ids["mon_answered"]).values(created_at=_at(WED, 0, 1))
        )
    assert await _cached(store) == {TUE}
    by_day = {r.key: r.offered for r in await _report_is_the_live_one(reports, *SPAN)}
    assert by_day == {"2026-03-02": 1, "2026-03-03": 1, "2026-03-04": 2, "2026-03-05": 1}
    # Raw SQL through the driver, and a column the report does not read (the day stays cached).
    async with store.session() as session, session.begin():
        await session.execute(
            text("UPDATE contacts SET outcome = 'missed', answer_s = NULL WHERE id = :id"),
            {"id": ids["tue_answered"]},
        )
        await session.execute(
            text("UPDATE contacts SET description = 'called about tyres' WHERE id = :id"),
            {"id": ids["mon_missed"]},
        )
    assert await _cached(store) == {MON, WED}
    by_day_missed = {r.key: r.missed for r in await _report_is_the_live_one(reports, *SPAN)}
    assert by_day_missed["2026-03-03"] == 1


async def test_given_a_write_in_flight_to_a_day_when_the_day_is_filled_then_the_fill_waits_and_stores_it(
    store: Store,
) -> None:
    """Without the guard the fill would read Tuesday before the write commits and store it after the
    write's trigger ran (it found nothing to delete then): Tuesday's stale figures would stay cached."""
    ids = await _desk(store)
    reports = CallReports(store, lambda: NOW)
    async with store.session() as writer:
        await writer.begin()
        await writer.execute(
            update(Contact).where(Contact.id == ids["tue_answered"]).values(outcome="missed")
        )
        fill = asyncio.create_task(reports.fill("day", [TUE]))
        await asyncio.sleep(0.3)
        assert not fill.done()  # PostgreSQL: the trigger's lock; SQLite: the write lock
        await writer.commit()
    assert await fill == 1
    assert await cached_days(store, "day", TUE, WED) == {TUE}
    assert await reports.fill("day", [TUE]) == 0  # a second filler finds it stored and stores nothing
    [tuesday] = [r for r in await reports.report(*SPAN, "day") if r.key == "2026-03-03"]
    assert (tuesday.answered, tuesday.missed) == (0, 1)


async def test_given_a_span_with_partial_days_and_today_then_only_its_whole_closed_days_are_cached(
    store: Store,
) -> None:
    await _desk(store)
    reports = CallReports(store, lambda: NOW)
    # From Monday 09:30 to today: Monday and today are partial, Tuesday and Wednesday whole and closed.
    start, end = _at(MON, 9, 30), NOW + timedelta(hours=2)
    rows = await _report_is_the_live_one(reports, start, end)
    assert await _cached(store) == {TUE, WED}
    assert [(r.key, r.offered) for r in rows] == [
        ("2026-03-02", 1),
        ("2026-03-03", 1),
        ("2026-03-04", 1),
        ("2026-03-05", 1),
    ]
    # Inside one day (no whole day): nothing is cached; the hour cut in the middle counts from the start.
    hours = await reports.report(_at(WED, 23, 30), _at(NOW.date(), 8, 30), "hour")
    assert [(r.key, r.offered) for r in hours] == [("2026-03-04T23:00", 1), ("2026-03-05T08:00", 1)]
    # A day later, Thursday is closed and cached with the rest.
    tomorrow = CallReports(store, lambda: NOW + timedelta(days=1))
    await _report_is_the_live_one(tomorrow, *SPAN)
    assert await _cached(store) == {MON, TUE, WED, NOW.date()}
