"""The call report computed in SQL (issue 14, item 5), on SQLite and PostgreSQL: the same figures on
both, per day, hour, employee and purpose; outbound calls and contacts with no call facts are not offered
calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cti_daemon.crm.models import Contact, Employee
from cti_daemon.crm.reports import call_report
from cti_daemon.crm.store import Store
from cti_daemon.ids import uuid7

DAY1 = datetime(2026, 1, 1, 9, 15, tzinfo=UTC)
DAY2 = datetime(2026, 1, 2, 14, 5, tzinfo=UTC)


def _call(at: datetime, outcome: str | None, **more: Any) -> Contact:
    return Contact(
        id=uuid7(), type="call", status="registered", created_at=at, outcome=outcome, rang_at=at, **more
    )


async def _fill(store: Store) -> None:
    async with store.session() as session, session.begin():
        session.add_all([Employee(id="e-201", name="P"), Employee(id="e-202", name="I")])
        await session.flush()
        session.add_all(
            [
                _call(DAY1, "answered", answer_s=5, talk_s=60, answered_by="e-201", purpose="service"),
                _call(DAY1, "answered", answer_s=15, talk_s=120, answered_by="e-202", purpose="showroom"),
                _call(
                    DAY1 + timedelta(hours=1),
                    "missed",
                    wait_s=20,
                    responsible_employee_id="e-201",
                    purpose="service",
                    callback_kind="callback",
                    callback_s=300,
                ),
                _call(DAY1 + timedelta(hours=1), "abandoned", wait_s=40),
                _call(DAY2, "answered", answer_s=30, talk_s=10, answered_by="e-201", purpose="service"),
                _call(DAY2, None),  # still ringing, or registered by hand: not an offered call yet
                _call(DAY2, "reached", direction="outbound", talk_s=500, answered_by="e-201"),
            ]
        )


async def test_given_a_days_calls_then_the_report_per_day_counts_rates_percentiles_and_callbacks(
    store: Store,
) -> None:
    await _fill(store)
    rows = await call_report(store, DAY1 - timedelta(days=1), DAY2 + timedelta(days=1), "day")
    assert [r.as_dict() for r in rows] == [
        {
            "key": "2026-01-01",
            "offered": 4,
            "answered": 2,
            "missed": 1,
            "abandoned": 1,
            "answer_rate": 0.5,
            "answer_p50_s": 5,
            "answer_p90_s": 15,
            "talk_total_s": 180,
            "talk_mean_s": 90.0,
            "callbacks": 1,
            "callback_median_s": 300,
        },
        {
            "key": "2026-01-02",
            "offered": 1,
            "answered": 1,
            "missed": 0,
            "abandoned": 0,
            "answer_rate": 1.0,
            "answer_p50_s": 30,
            "answer_p90_s": 30,
            "talk_total_s": 10,
            "talk_mean_s": 10.0,
            "callbacks": 0,
            "callback_median_s": None,
        },
    ]


async def test_given_groupings_then_keys_are_hours_employees_and_purposes(store: Store) -> None:
    await _fill(store)
    start, end = DAY1 - timedelta(days=1), DAY2 + timedelta(days=1)
    hours = await call_report(store, start, end, "hour")
    assert [(r.key, r.offered) for r in hours] == [
        ("2026-01-01T09:00", 2),
        ("2026-01-01T10:00", 2),
        ("2026-01-02T14:00", 1),
    ]
    people = await call_report(store, start, end, "employee")
    assert [(r.key, r.answered, r.missed) for r in people] == [("", 0, 0), ("e-201", 2, 1), ("e-202", 1, 0)]
    purposes = await call_report(store, start, end, "purpose")
    assert [(r.key, r.offered) for r in purposes] == [("", 1), ("service", 3), ("showroom", 1)]
    only_day2 = await call_report(store, DAY2 - timedelta(hours=1), end, "day")
    assert [r.key for r in only_day2] == ["2026-01-02"]
