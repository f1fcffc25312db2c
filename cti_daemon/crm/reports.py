"""The call report (issue 14, item 5), computed in SQL on SQLite and PostgreSQL alike: per day, hour,
employee or purpose, over the inbound call contacts created in [from, to).

The percentiles are nearest-rank (the smallest value with at least p of the rows at or below it), from
SUM() windows over a histogram of whole seconds that both backends have, so the figures agree. The
definitions of every column are in README.md ("Call report")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, and_, case, cast, func, literal, select
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
            # date_trunc groups several times faster than to_char; the key is written out in _text.
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


def _percentiles(
    key: ColumnElement[str], value: Any, where: ColumnElement[bool], points: tuple[float, ...]
) -> Any:
    """Nearest-rank percentiles per key from a histogram of whole seconds: the rows are grouped by
    (key, seconds) first, so the window sorts a few thousand buckets, not every call."""
    hist = (
        select(key.label("key"), value.label("v"), func.count().label("c"))
        .where(where, value.is_not(None))
        .group_by(key, value)
        .subquery()
    )
    running = select(
        hist.c.key,
        hist.c.v,
        func.sum(hist.c.c).over(partition_by=hist.c.key, order_by=hist.c.v).label("cum"),
        func.sum(hist.c.c).over(partition_by=hist.c.key).label("n"),
    ).subquery()
    cum = cast(running.c.cum, Float)
    return select(
        running.c.key,
        *(func.min(case((cum >= p * running.c.n, running.c.v))).label(f"p{int(p * 100)}") for p in points),
    ).group_by(running.c.key)


async def call_report(store: Store, start: datetime, end: datetime, grouping: Grouping) -> list[ReportRow]:
    key = _key(grouping, store.dialect)
    where = _calls(start, end)

    def count(outcome: str) -> Any:
        return func.count(case((Contact.outcome == outcome, 1)))

    totals = (
        select(
            key.label("key"),
            func.count().label("offered"),
            count("answered").label("answered"),
            count("missed").label("missed"),
            count("abandoned").label("abandoned"),
            func.coalesce(func.sum(Contact.talk_s), 0).label("talk_total"),
            func.avg(Contact.talk_s).label("talk_mean"),
            func.count(case((Contact.callback_kind == "callback", 1))).label("callbacks"),
        )
        .where(where)
        .group_by(key)
    )
    answered = and_(where, Contact.outcome == "answered")
    called_back = and_(where, Contact.callback_kind == "callback")
    async with store.session() as session:
        rows = (await session.execute(totals)).all()
        answer = {
            r[0]: r
            for r in (await session.execute(_percentiles(key, Contact.answer_s, answered, (0.5, 0.9)))).all()
        }
        back = {
            r[0]: r
            for r in (await session.execute(_percentiles(key, Contact.callback_s, called_back, (0.5,)))).all()
        }
    out = []
    for r in sorted(rows, key=lambda r: _text(r.key, grouping)):
        offered, talk_mean = int(r.offered), r.talk_mean
        p = answer.get(r.key)
        out.append(
            ReportRow(
                key=_text(r.key, grouping),
                offered=offered,
                answered=int(r.answered),
                missed=int(r.missed),
                abandoned=int(r.abandoned),
                answer_rate=round(int(r.answered) / offered, 4) if offered else None,
                answer_p50_s=_int(p[1]) if p else None,
                answer_p90_s=_int(p[2]) if p else None,
                talk_total_s=int(r.talk_total or 0),
                talk_mean_s=round(float(talk_mean), 1) if talk_mean is not None else None,
                callbacks=int(r.callbacks),
                callback_median_s=_int(back[r.key][1]) if r.key in back else None,
            )
        )
    return out


def _text(key: Any, grouping: Grouping) -> str:
    if isinstance(key, datetime):
        return key.strftime("%Y-%m-%d" if grouping == "day" else "%Y-%m-%dT%H:00")
    return str(key)


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None
