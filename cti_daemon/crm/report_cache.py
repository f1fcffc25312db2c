"""The call report with a cache of closed days (issue 14, item 5): a year of contacts answers from ~365
stored rows per key instead of a pass over a million contacts.

A closed day is a whole UTC day before today (the daemon's clock). Its figures per grouping and key are
computed in SQL (crm/reports.py, restricted to the day) and stored with a marker row
(models.CallReportDay, CallReportCachedDay; migration 0007). A report over [from, to) takes the whole
cached days from the cache and computes the rest live: days not cached, today, and the partial days at
the edges. Day and hour keys never span days, so their cached rows are final; employee and purpose rows
keep whole-second histograms, merged with the live part's (crm/report_figures.py). Days missing from the
cache are filled on the way, a few days per transaction, so the first report over never-cached days
costs about what the live pass costs, and later ones read the cache.

Exact, not eventually: a trigger on contacts (migration 0007) deletes a day's rows and marker in the
same transaction as any write to a contact of that day. What must not happen is a fill that reads a day,
a write to that day that commits meanwhile (its trigger finds nothing to delete yet), and the fill then
storing what it read. So the fill's transaction excludes writes to contacts while it reads and stores:
on PostgreSQL by an advisory lock every write's trigger takes shared and the fill takes exclusive (only
with pg_try_*: a waiting fill would queue the journal's writes behind it); on SQLite the fill's first
statement is a write, which takes SQLite's single write lock before anything is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Text, cast, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cti_daemon.crm.models import Base, CallReportCachedDay, CallReportDay
from cti_daemon.crm.report_figures import KeyFigures, hist_of, hist_text
from cti_daemon.crm.reports import (
    Grouping,
    ReportRow,
    call_groups,
    call_report,
    key_text,
    report_query,
    report_row,
    tune_for_report,
)
from cti_daemon.crm.store import Store

# The lock the trigger takes shared (migration 0007 keeps its own copy of the key).
ADVISORY_KEY = (1129597233, 7)
LOCK_WAIT_S = 1.0  # a fill that cannot have the lock in this time leaves its days to the live pass
LOCK_POLL_S = 0.005
FILL_DAYS = 7  # days computed per fill transaction: what a write may wait behind is one such read
MERGED: frozenset[Grouping] = frozenset(("employee", "purpose"))  # groupings whose keys span days
ONE_DAY = timedelta(days=1)

Span = tuple[datetime, datetime]


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def whole_days(start: datetime, end: datetime, today: date) -> tuple[date, date]:
    """[first, last): the whole UTC days within [start, end) that are closed (before `today`)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = start.date() if start == midnight(start.date()) else start.date() + ONE_DAY
    return first, min(end.date(), today)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days)]


def live_spans(start: datetime, end: datetime, first: date, last: date, cached: set[date]) -> list[Span]:
    """[start, end) less the cached days of [first, last): the partial days at the edges and the days not
    cached, adjacent ones joined (one live query each)."""
    pieces = [(start, midnight(first))]
    pieces += [(midnight(d), midnight(d) + ONE_DAY) for d in days_between(first, last) if d not in cached]
    pieces.append((midnight(last), end))
    joined: list[Span] = []
    for s, e in pieces:
        if s >= e:
            continue
        if joined and joined[-1][1] == s:
            joined[-1] = (joined[-1][0], e)
        else:
            joined.append((s, e))
    return joined


def _day_of(key: str) -> date:
    return date.fromisoformat(key[:10])


async def _stored_rows(session: AsyncSession, grouping: Grouping, first: date, last: date) -> list[Any]:
    """Each day of [first, last) the cache holds (`cached_day`) with its rows, or one row of None figures
    for a day without calls: one statement, so a day dropped meanwhile is wholly there or wholly absent.
    The columns are named as report_row and KeyFigures.add_cached read them."""
    day, cached = CallReportDay, CallReportCachedDay
    stmt = (
        select(
            cached.day.label("cached_day"),
            day.key,
            day.offered,
            day.answered,
            day.missed,
            day.abandoned,
            day.talk_sum,
            day.talk_n,
            day.callbacks,
            day.answer_p50_s.label("p50"),
            day.answer_p90_s.label("p90"),
            day.callback_p50_s.label("back_p50"),
            day.answer_hist,
            day.callback_hist,
        )
        .select_from(cached)
        .outerjoin(day, (day.day == cached.day) & (day.grouping == cached.grouping))
        .where(cached.grouping == grouping, cached.day >= first, cached.day < last)
    )
    return list((await session.execute(stmt)).all())


async def _take_fill_lock(session: AsyncSession) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_S
    take = text("SELECT pg_try_advisory_xact_lock(:a, :b)").bindparams(a=ADVISORY_KEY[0], b=ADVISORY_KEY[1])
    while not await session.scalar(take):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(LOCK_POLL_S)
    return True


async def _claim(
    session: AsyncSession, dialect: str, grouping: Grouping, days: Sequence[date], now: datetime
) -> set[date]:
    """Insert the days' markers; the days whose markers were not there yet are ours to fill. On SQLite
    this write is the transaction's first statement: it takes the write lock before the day is read."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        dialect_insert(CallReportCachedDay)
        .values([{"day": d, "grouping": grouping, "filled_at": now} for d in days])
        .on_conflict_do_nothing()
        .returning(CallReportCachedDay.day)
    )
    return set((await session.scalars(stmt)).all())


async def _computed(
    session: AsyncSession, dialect: str, grouping: Grouping, first: date, last: date
) -> list[dict[str, Any]]:
    """The cache rows of the days [first, last), computed in one pass over them."""
    start, end = midnight(first), midnight(last)
    if grouping not in MERGED:
        rows = (await session.execute(report_query(start, end, grouping, dialect))).all()
        return [
            {
                "day": _day_of(key_text(r.key, grouping)),
                "key": key_text(r.key, grouping),
                **_totals(r),
                "answer_p50_s": r.p50,
                "answer_p90_s": r.p90,
                "callback_p50_s": r.back_p50,
            }
            for r in rows
        ]
    rows = (await session.execute(_day_histograms(start, end, grouping, dialect))).all()
    return [
        {
            "day": _day_of(key_text(r.day, "day")),
            "key": str(r.key),
            **_totals(r),
            # Stored in one form on both backends (PostgreSQL's json_object_agg spaces its text).
            "answer_hist": hist_text(hist_of(r.answer_hist)),
            "callback_hist": hist_text(hist_of(r.callback_hist)),
        }
        for r in rows
    ]


def _day_histograms(start: datetime, end: datetime, grouping: Grouping, dialect: str) -> Any:
    """Per UTC day and key of [start, end): the totals, and the histograms of answer and callback seconds
    as JSON objects {"seconds": calls}, summed from reports.call_groups in SQL (a week holds thousands of
    groups; reading them into Python cost 4x the pass itself)."""
    groups = call_groups(start, end, grouping, dialect, per_day=True).cte("day_groups")
    totals = (
        select(
            groups.c.day,
            groups.c.key,
            *(
                func.sum(groups.c[n]).label(n)
                for n in ("offered", "answered", "missed", "abandoned", "talk_sum", "talk_n", "callbacks")
            ),
        )
        .group_by(groups.c.day, groups.c.key)
        .subquery()
    )

    def histogram(value: Any, name: str) -> Any:
        # Within a group with a non-null value every call shares it, so offered is the count.
        buckets = (
            select(groups.c.day, groups.c.key, value.label("v"), func.sum(groups.c.offered).label("n"))
            .where(value.is_not(None))
            .group_by(groups.c.day, groups.c.key, value)
            .subquery()
        )
        as_json: ColumnElement[str]
        if dialect == "postgresql":
            as_json = cast(func.json_object_agg(buckets.c.v, buckets.c.n), Text)  # text, not a decoded dict
        else:
            as_json = func.json_group_object(cast(buckets.c.v, Text), buckets.c.n, type_=Text)
        return (
            select(buckets.c.day, buckets.c.key, as_json.label(name))
            .group_by(buckets.c.day, buckets.c.key)
            .subquery()
        )

    def same(h: Any) -> Any:
        return (h.c.day == totals.c.day) & (h.c.key == totals.c.key)

    answers, backs = histogram(groups.c.a, "answer_hist"), histogram(groups.c.b, "callback_hist")
    return (
        select(totals, answers.c.answer_hist, backs.c.callback_hist)
        .outerjoin(answers, same(answers))
        .outerjoin(backs, same(backs))
    )


def _totals(r: Any) -> dict[str, int]:
    return {
        "offered": int(r.offered),
        "answered": int(r.answered),
        "missed": int(r.missed),
        "abandoned": int(r.abandoned),
        "talk_sum": int(r.talk_sum or 0),
        "talk_n": int(r.talk_n or 0),
        "callbacks": int(r.callbacks),
    }


async def fill_days(store: Store, grouping: Grouping, days: Sequence[date], now: datetime) -> int:
    """Compute and store the given consecutive closed days, in one transaction; the number stored (none
    when another filler holds the lock for a second, or has stored them already)."""
    if not days:
        return 0
    async with store.session() as session, session.begin():
        if store.dialect == "postgresql" and not await _take_fill_lock(session):
            return 0
        ours = await _claim(session, store.dialect, grouping, days, now)
        if not ours:
            return 0
        rows = await _computed(session, store.dialect, grouping, min(ours), max(ours) + ONE_DAY)
        rows = [r for r in rows if r["day"] in ours]
        if rows:
            # Core's executemany: the ORM's bulk insert sent one INSERT per row here.
            table = Base.metadata.tables[CallReportDay.__tablename__]
            await session.execute(insert(table), [{"grouping": grouping, **r} for r in rows])
    return len(ours)


async def cached_days(store: Store, grouping: Grouping, first: date, last: date) -> set[date]:
    async with store.session() as session:
        stmt = select(CallReportCachedDay.day).where(
            CallReportCachedDay.grouping == grouping,
            CallReportCachedDay.day >= first,
            CallReportCachedDay.day < last,
        )
        return set((await session.scalars(stmt)).all())


def runs(days: Iterable[date], most: int) -> list[list[date]]:
    """Consecutive days in runs of at most `most`."""
    out: list[list[date]] = []
    for day in sorted(days):
        if out and out[-1][-1] + ONE_DAY == day and len(out[-1]) < most:
            out[-1].append(day)
        else:
            out.append([day])
    return out


class CallReports:
    """GET /api/v1/reports/calls: the report over [start, end), whole closed days from the cache."""

    def __init__(
        self, store: Store, clock: Callable[[], datetime], *, days_per_fill: int = FILL_DAYS
    ) -> None:
        self.store = store
        self._clock = clock
        self.days_per_fill = days_per_fill

    def now(self) -> datetime:
        return self._clock()

    def today(self) -> date:
        """The day being written: never cached."""
        return self._clock().astimezone(UTC).date()

    async def fill(self, grouping: Grouping, days: Iterable[date]) -> int:
        """Store those of `days` that are closed and missing, a few per transaction; the number stored."""
        today = self.today()
        filled = 0
        for run in runs((d for d in days if d < today), self.days_per_fill):
            filled += await fill_days(self.store, grouping, run, self._clock())
        return filled

    async def report(self, start: datetime, end: datetime, grouping: Grouping) -> list[ReportRow]:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        first, last = whole_days(start, end, self.today())
        if first >= last:
            return await call_report(self.store, start, end, grouping)
        async with self.store.session() as session:
            stored = await _stored_rows(session, grouping, first, last)
        missing = set(days_between(first, last)) - {r.cached_day for r in stored}
        if missing and await self.fill(grouping, missing):
            async with self.store.session() as session:
                stored = await _stored_rows(session, grouping, first, last)
        spans = live_spans(start, end, first, last, {r.cached_day for r in stored})
        rows = [r for r in stored if r.key is not None]
        if grouping in MERGED:
            return await self._merged(rows, spans, grouping)
        out = [report_row(r.key, r) for r in rows]
        for s, e in spans:
            out.extend(await call_report(self.store, s, e, grouping))
        return sorted(out, key=lambda r: r.key)

    async def _merged(self, rows: list[Any], spans: list[Span], grouping: Grouping) -> list[ReportRow]:
        figures: dict[str, KeyFigures] = {}
        for row in rows:
            figures.setdefault(row.key, KeyFigures()).add_cached(row)
        if spans:
            async with self.store.session() as session:
                await tune_for_report(session, self.store.dialect)
                for s, e in spans:
                    groups = (await session.execute(call_groups(s, e, grouping, self.store.dialect))).all()
                    for g in groups:
                        figures.setdefault(str(g.key), KeyFigures()).add_group(g)
        return [figures[key].row(key) for key in sorted(figures)]
