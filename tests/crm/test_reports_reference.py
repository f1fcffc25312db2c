"""The call report's one-pass SQL (issue 14, item 5), and the report from its cache of closed days,
against a straightforward computation in plain Python over the same contacts: a random desk of a few
thousand contacts, many of whose facts change after they were written (a ringing call answered late, a
missed call called back), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from cti_daemon.crm.models import Contact, Employee
from cti_daemon.crm.report_cache import CallReports, cached_days
from cti_daemon.crm.reports import GROUPINGS, Grouping, call_report
from cti_daemon.crm.store import Store

START = datetime(2026, 3, 1, tzinfo=UTC)
STAFF = ["e-201", "e-202", "e-203"]
PURPOSES = ["service", "showroom", "shop", None]


def _contact(i: int, rnd: random.Random) -> dict[str, Any]:
    at = START + timedelta(seconds=rnd.randint(0, 10 * 86_400), microseconds=rnd.randint(0, 999_999))
    outcome = rnd.choice(["answered", "answered", "answered", "missed", "abandoned", None])
    return {
        "id": f"{i:08d}-ref",
        "type": rnd.choice(["call"] * 9 + ["visit"]),
        "status": "registered",
        "direction": rnd.choice(["inbound"] * 9 + ["outbound"]),
        "created_at": at,
        "outcome": outcome,
        "purpose": rnd.choice(PURPOSES),
        "answered_by": rnd.choice([*STAFF, None]) if outcome == "answered" else None,
        "responsible_employee_id": rnd.choice([*STAFF, None]),
        # The PBX's times arrive later for some answered calls (set below), never for others.
        "answer_s": rnd.randint(0, 40) if outcome == "answered" and rnd.random() < 0.7 else None,
        "talk_s": rnd.randint(1, 600) if outcome == "answered" and rnd.random() < 0.8 else None,
        "callback_kind": None,
        "callback_s": None,
        "version": 1,
    }


def _late_change(row: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """What a later event does to a contact already written: the facts of a call that was still ringing,
    answer times arriving late, a missed call called back (or closed by the customer calling again)."""
    if row["outcome"] is None and rnd.random() < 0.6:
        return {"outcome": "answered", "answer_s": rnd.randint(0, 40), "answered_by": rnd.choice(STAFF)}
    if row["outcome"] == "answered" and row["answer_s"] is None:
        return {"answer_s": rnd.randint(0, 40), "talk_s": rnd.randint(1, 600)}
    if row["outcome"] in ("missed", "abandoned") and rnd.random() < 0.5:
        kind = rnd.choice(["callback", "callback", "customer_called"])
        return {"callback_kind": kind, "callback_s": rnd.choice([rnd.randint(30, 7_200), None])}
    return {}


def _nearest_rank(values: list[int], p: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    for seen, value in enumerate(ordered, start=1):
        if float(seen) >= p * n and (seen == n or ordered[seen] != value):
            return value
    return ordered[-1]


def _key(row: dict[str, Any], grouping: Grouping) -> str:
    at: datetime = row["created_at"].astimezone(UTC)
    if grouping == "day":
        return at.strftime("%Y-%m-%d")
    if grouping == "hour":
        return at.strftime("%Y-%m-%dT%H:00")
    if grouping == "employee":
        return str(row["answered_by"] or row["responsible_employee_id"] or "")
    return str(row["purpose"] or "")


def _reference(rows: list[dict[str, Any]], start: datetime, end: datetime, grouping: Grouping) -> list[Any]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        offered = row["type"] == "call" and row["direction"] == "inbound" and row["outcome"] is not None
        if offered and start <= row["created_at"] < end:
            groups[_key(row, grouping)].append(row)
    out = []
    for key in sorted(groups):
        calls = groups[key]
        answered = [c for c in calls if c["outcome"] == "answered"]
        backs = [c for c in calls if c["callback_kind"] == "callback"]
        talks = [c["talk_s"] for c in calls if c["talk_s"] is not None]
        waits = [c["answer_s"] for c in answered if c["answer_s"] is not None]
        back_s = [c["callback_s"] for c in backs if c["callback_s"] is not None]
        out.append(
            {
                "key": key,
                "offered": len(calls),
                "answered": len(answered),
                "missed": sum(c["outcome"] == "missed" for c in calls),
                "abandoned": sum(c["outcome"] == "abandoned" for c in calls),
                "answer_rate": round(len(answered) / len(calls), 4),
                "answer_p50_s": _nearest_rank(waits, 0.5),
                "answer_p90_s": _nearest_rank(waits, 0.9),
                "talk_total_s": sum(talks),
                "talk_mean_s": round(sum(talks) / len(talks), 1) if talks else None,
                "callbacks": len(backs),
                "callback_median_s": _nearest_rank(back_s, 0.5),
            }
        )
    return out


async def _write_desk(store: Store, rnd: random.Random) -> list[dict[str, Any]]:
    rows = [_contact(i, rnd) for i in range(3_000)]
    async with store.session() as session, session.begin():
        session.add_all(Employee(id=e, name=e) for e in STAFF)
        await session.flush()
        session.add_all(Contact(candidate_ids=[], purpose_auto=False, **row) for row in rows)
    return rows


async def _change_late(store: Store, rows: list[dict[str, Any]], rnd: random.Random) -> None:
    """Each change in its own transaction, as the PBX's facts and callbacks arrive."""
    for row in rows:
        change = _late_change(row, rnd)
        if change:
            row.update(change)
            async with store.session() as session, session.begin():
                await session.execute(update(Contact).where(Contact.id == row["id"]).values(**change))
    async with store.session() as session:
        stored = {c.id: c for c in (await session.scalars(select(Contact))).all()}
    assert all(stored[r["id"]].outcome == r["outcome"] for r in rows)


def _fixed(at: datetime) -> Callable[[], datetime]:
    return lambda: at


# A span that cuts days and hours in the middle, and the whole desk.
SPANS = [
    (START + timedelta(days=2, hours=5, minutes=17), START + timedelta(days=7, minutes=3)),
    (START, START + timedelta(days=11)),
]


@pytest.mark.parametrize("seed", [14, 41])
async def test_given_a_random_desk_with_late_changes_then_every_grouping_matches_plain_python(
    store: Store, seed: int
) -> None:
    rnd = random.Random(seed)
    rows = await _write_desk(store, rnd)
    await _change_late(store, rows, rnd)
    for start, end in SPANS:
        for grouping in GROUPINGS:
            got = [r.as_dict() for r in await call_report(store, start, end, grouping)]
            want = _reference(rows, start, end, grouping)
            assert got == want, grouping


@pytest.mark.parametrize("seed", [14, 41])
async def test_given_a_random_desk_cached_before_its_late_changes_then_the_cached_report_matches_plain_python(
    store: Store, seed: int
) -> None:
    rnd = random.Random(seed)
    rows = await _write_desk(store, rnd)
    after_the_desk = START + timedelta(days=11, hours=1)
    cold = CallReports(store, lambda: after_the_desk)
    for grouping in GROUPINGS:
        await cold.report(START, START + timedelta(days=11), grouping)  # caches every day of the desk
        assert len(await cached_days(store, grouping, START.date(), after_the_desk.date())) == 11
    await _change_late(store, rows, rnd)
    # Then from the cache (refilled where the changes dropped days), with the desk closed, and with today
    # in the middle of it (today and what follows computed live).
    for today in (after_the_desk, START + timedelta(days=5, hours=10)):
        reports = CallReports(store, _fixed(today))
        for start, end in SPANS:
            for grouping in GROUPINGS:
                for _cold_then_warm in range(2):
                    got = [r.as_dict() for r in await reports.report(start, end, grouping)]
                    assert got == _reference(rows, start, end, grouping), (today, start, grouping)
