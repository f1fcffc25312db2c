"""The call report (issue 14, item 5), computed in SQL on SQLite and PostgreSQL alike: per day, hour,
employee or purpose, over the inbound call contacts created in [from, to).

The percentiles are nearest-rank (the smallest value with at least p of the rows at or below it), from
SUM() windows over a histogram of whole seconds that both backends have, so the figures agree. The
definitions of every column are in README.md ("Call report")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    Float,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cti_daemon.crm.models import Contact
from cti_daemon.crm.store import Store

Grouping = Literal["day", "hour", "employee", "purpose"]
GROUPINGS: tuple[Grouping, ...] = ("day", "hour", "employee", "purpose")
COLUMNS = (
    "key",
    "offered",
    "answered",
    "missed",
    "abandoned",
    "answer_rate",
    "answer_p50_s",
    "answer_p90_s",
    "talk_total_s",
    "talk_mean_s",
    "callbacks",
    "callback_median_s",
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    key: str
    offered: int
    answered: int
    missed: int
    abandoned: int
    answer_rate: float | None
    answer_p50_s: int | None
    answer_p90_s: int | None
    talk_total_s: int
    talk_mean_s: float | None
    callbacks: int
    callback_median_s: int | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


def _key(grouping: Grouping, dialect: str) -> ColumnElement[str]:
    at = Contact.created_at
    if grouping in ("day", "hour"):
        if dialect == "postgresql":
            # date_trunc groups several times faster than to_char; the key is written out in key_text.
            return func.date_trunc(grouping, func.timezone("UTC", at))
        # SQLAlchemy keeps SQLite's datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text, all in UTC here:
        # cutting the text is several times cheaper than strftime() on every row.
        day = func.substr(at, 1, 10)
        return day if grouping == "day" else day + "T" + func.substr(at, 12, 2) + ":00"
    if grouping == "employee":
        return func.coalesce(Contact.answered_by, Contact.responsible_employee_id, literal(""))
    return func.coalesce(Contact.purpose, literal(""))


def _calls(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(
        Contact.type == "call",
        Contact.direction == "inbound",
        Contact.outcome.is_not(None),
        Contact.created_at >= start,
        Contact.created_at < end,
    )


def _percentiles(hist: Any, weight: Any, value: Any, points: tuple[float, ...]) -> Any:
    """Nearest-rank percentiles per key from a histogram of whole seconds (key, value, weight): the window
    sorts the buckets, not every call."""
    buckets = (
        select(hist.c.key, value.label("v"), func.sum(weight).label("c"))
        .where(value.is_not(None))
        .group_by(hist.c.key, value)
        .subquery()
    )
    running = select(
        buckets.c.key,
        buckets.c.v,
        func.sum(buckets.c.c).over(partition_by=buckets.c.key, order_by=buckets.c.v).label("cum"),
        func.sum(buckets.c.c).over(partition_by=buckets.c.key).label("n"),
    ).subquery()
    cum = cast(running.c.cum, Float)
    picks = (func.min(case((cum >= p * running.c.n, running.c.v))).label(f"p{int(p * 100)}") for p in points)
    return select(running.c.key, *picks).group_by(running.c.key).subquery()


def _count(outcome: str) -> Any:
    return func.count(case((Contact.outcome == outcome, 1)))


def _pg_report_query(start: datetime, end: datetime, grouping: Grouping) -> Any:
    """PostgreSQL: one GROUP BY key whose percentiles are ordered-set aggregates. percentile_disc takes
    row ceil(p * n) of the sorted values, the nearest rank that _percentiles computes on SQLite (the same
    figures, tests/crm/test_reports_reference.py); each key's values are sorted alone, 4-7x faster than
    the windows over a year's histogram."""
    key = _key(grouping, "postgresql")
    answered = Contact.outcome == "answered"
    called_back = Contact.callback_kind == "callback"

    def pick(p: float, value: Any, where: ColumnElement[bool]) -> Any:
        return func.percentile_disc(literal(p, Float)).within_group(value).filter(where)

    points = postgresql.array([literal(0.5, Float), literal(0.9, Float)])
    ranks = func.percentile_disc(points, type_=ARRAY(Integer)).within_group(Contact.answer_s)
    waits = type_coerce(ranks.filter(answered), ARRAY(Integer)).self_group()
    return (
        select(
            key.label("key"),
            func.count().label("offered"),
            _count("answered").label("answered"),
            _count("missed").label("missed"),
            _count("abandoned").label("abandoned"),
            func.sum(Contact.talk_s).label("talk_sum"),
            func.count(Contact.talk_s).label("talk_n"),
            func.count(case((called_back, 1))).label("callbacks"),
            # Both answer percentiles from one sort of each key's answer times.
            waits[1].label("p50"),
            waits[2].label("p90"),
            pick(0.5, Contact.callback_s, called_back).label("back_p50"),
        )
        .select_from(Contact)
        .where(_calls(start, end))
        .group_by(key)
    )


def call_groups(
    start: datetime, end: datetime, grouping: Grouping, dialect: str, *, per_day: bool = False
) -> Any:
    """The calls of [start, end) grouped by (key, answer seconds of an answered call, callback seconds of
    a called-back one), and by UTC day (column `day`) when `per_day`: per group its counts and talk sums.
    Every column of the report follows from these groups, and groups of different spans add up
    (crm/report_figures.py merges them)."""
    key = _key(grouping, dialect)
    answered = Contact.outcome == "answered"
    called_back = Contact.callback_kind == "callback"
    count = _count
    days = [_key("day", dialect).label("day")] if per_day else []
    return (
        select(
            *days,
            key.label("key"),
            case((answered, Contact.answer_s)).label("a"),
            case((called_back, Contact.callback_s)).label("b"),
            func.count().label("offered"),
            count("answered").label("answered"),
            count("missed").label("missed"),
            count("abandoned").label("abandoned"),
            func.sum(Contact.talk_s).label("talk_sum"),
            func.count(Contact.talk_s).label("talk_n"),
            func.count(case((called_back, 1))).label("callbacks"),
        )
        .where(_calls(start, end))
        .group_by(*(literal_column("day") for _ in days), key, literal_column("a"), literal_column("b"))
    )


def report_query(start: datetime, end: datetime, grouping: Grouping, dialect: str) -> Any:
    """One statement, one pass over the span. SQLite (no percentile aggregate): the calls are grouped by
    (key, answer seconds, callback seconds) once; the totals and both histograms are read from those
    groups (a CTE, materialized as it is referenced three times)."""
    if dialect == "postgresql" and grouping in ("day", "hour"):
        # Thousands of keys: sorting each key's few values beats windows over a histogram as big as the
        # span. For four or five keys the histogram stays small and is the faster of the two (bench).
        return _pg_report_query(start, end, grouping)
    groups = call_groups(start, end, grouping, dialect).cte("call_groups")
    totals = (
        select(
            groups.c.key,
            func.sum(groups.c.offered).label("offered"),
            func.sum(groups.c.answered).label("answered"),
            func.sum(groups.c.missed).label("missed"),
            func.sum(groups.c.abandoned).label("abandoned"),
            func.sum(groups.c.talk_sum).label("talk_sum"),
            func.sum(groups.c.talk_n).label("talk_n"),
            func.sum(groups.c.callbacks).label("callbacks"),
        )
        .group_by(groups.c.key)
        .subquery()
    )
    # Within a group with a non-null a every call was answered (b: called back), so offered is the weight.
    answer = _percentiles(groups, groups.c.offered, groups.c.a, (0.5, 0.9))
    back = _percentiles(groups, groups.c.offered, groups.c.b, (0.5,))
    return (
        select(totals, answer.c.p50, answer.c.p90, back.c.p50.label("back_p50"))
        .outerjoin(answer, answer.c.key == totals.c.key)
        .outerjoin(back, back.c.key == totals.c.key)
    )


async def tune_for_report(session: AsyncSession, dialect: str) -> None:
    if dialect == "postgresql":
        # For this transaction only: the groups of a year (480,000 for `hour`) are hashed and sorted in
        # memory, not spilled to disk by the default 4 MB; JIT compiled ~80 functions for every call of
        # a query that runs once, which cost more than it saved.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
        await session.execute(text("SET LOCAL jit = off"))


async def call_report(store: Store, start: datetime, end: datetime, grouping: Grouping) -> list[ReportRow]:
    """The report computed from the contacts alone, in one pass over the span (no cache: the daemon
    answers through crm/report_cache.py, which uses this for what it has not cached)."""
    async with store.session() as session:
        await tune_for_report(session, store.dialect)
        rows = (await session.execute(report_query(start, end, grouping, store.dialect))).all()
    return sorted((report_row(key_text(r.key, grouping), r) for r in rows), key=lambda row: row.key)


def report_row(key: str, r: Any) -> ReportRow:
    """The row of `key` from its figures (any object with report_query's columns: offered, answered,
    missed, abandoned, talk_sum, talk_n, callbacks, p50, p90, back_p50)."""
    offered, answered, talk_n = int(r.offered), int(r.answered), int(r.talk_n or 0)
    talk_sum = int(r.talk_sum or 0)
    return ReportRow(
        key=key,
        offered=offered,
        answered=answered,
        missed=int(r.missed),
        abandoned=int(r.abandoned),
        answer_rate=round(answered / offered, 4) if offered else None,
        answer_p50_s=_int(r.p50),
        answer_p90_s=_int(r.p90),
        talk_total_s=talk_sum,
        talk_mean_s=round(talk_sum / talk_n, 1) if talk_n else None,
        callbacks=int(r.callbacks),
        callback_median_s=_int(r.back_p50),
    )


def key_text(key: Any, grouping: Grouping) -> str:
    if isinstance(key, datetime):
        return key.strftime("%Y-%m-%d" if grouping == "day" else "%Y-%m-%dT%H:00")
    return str(key)


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None
