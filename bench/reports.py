"""The call report over a year of contacts (issue 14, item 5), as the daemon answers it (crm/report_cache.py):
per grouping (day, hour, employee, purpose) the cold figure (the cache of closed days emptied first: the
report computes and stores every day) and p50 and p99 with the cache warm, beside a bare `SELECT count(*)`
of the same rows, in the same run, on the same store; `--live` also times the report without the cache.

The store is filled with `--rows` inbound call contacts (1,000,000 by default) spread evenly over 2025,
with the outcome mix of a busy desk (80 % answered, 14 % missed, 6 % abandoned; a third of the missed
called back), answer and talk times, four employees and five purposes. SQLite in a temporary file by
default; `--url postgresql+asyncpg://...` for PostgreSQL (a database of its own: it is filled).

Run: `.venv/bin/python bench/reports.py [--rows 1000000] [--repeat 11] [--url URL] [--live]`; a store that
already holds exactly `--rows` contacts (a SQLite path, a PostgreSQL database from an earlier run) is
reused. A quick run: `--rows 20000 --repeat 5`. The last line is one JSON object: `ms` the warm figures,
`cold_ms` the cold ones, `live_ms` (with `--live`) the report without the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, insert, select  # noqa: E402

from cti_daemon.crm.models import CallReportCachedDay, CallReportDay, Contact, Employee  # noqa: E402
from cti_daemon.crm.report_cache import FILL_DAYS, CallReports  # noqa: E402
from cti_daemon.crm.reports import GROUPINGS, _calls, call_report  # noqa: E402
from cti_daemon.crm.store import Store, open_store  # noqa: E402

YEAR = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
STAFF = ["e-100", "e-201", "e-202", "e-203"]
PURPOSES = ["service", "showroom", "shop", "feedback", "other"]


def _row(i: int, n: int, rnd: random.Random) -> dict[str, Any]:
    at = YEAR + timedelta(seconds=(END - YEAR).total_seconds() * i / n)
    roll = rnd.random()
    outcome = "answered" if roll < 0.80 else "missed" if roll < 0.94 else "abandoned"
    answer_s = rnd.randint(2, 60) if outcome == "answered" else None
    called_back = outcome != "answered" and rnd.random() < 0.33
    return {
        "id": f"{i:012d}-bench",
        "type": "call",
        "status": "finalized" if outcome == "answered" else "missed",
        "direction": "inbound",
        "created_at": at,
        "rang_at": at,
        "outcome": outcome,
        "purpose": rnd.choice(PURPOSES),
        "purpose_auto": False,
        "candidate_ids": [],
        "answered_by": rnd.choice(STAFF) if outcome == "answered" else None,
        "responsible_employee_id": rnd.choice(STAFF),
        "answer_s": answer_s,
        "talk_s": rnd.randint(10, 900) if outcome == "answered" else None,
        "wait_s": rnd.randint(3, 120) if outcome != "answered" else None,
        "callback_kind": "callback" if called_back else None,
        "callback_s": rnd.randint(60, 86_400) if called_back else None,
        "version": 1,
    }


async def fill(store: Store, rows: int) -> float:
    started = time.perf_counter()
    rnd = random.Random(14)
    async with store.session() as session, session.begin():
        session.add_all(Employee(id=e, name=e) for e in STAFF)
    chunk = 10_000
    for first in range(0, rows, chunk):
        batch = [_row(i, rows, rnd) for i in range(first, min(rows, first + chunk))]
        async with store.session() as session, session.begin():
            await session.execute(insert(Contact), batch)
    await settle(store)
    return time.perf_counter() - started


async def settle(store: Store) -> None:
    """Statistics for the planner and, on PostgreSQL, a visibility map (VACUUM) so the report's covering
    index is read alone, as on a store whose autovacuum has passed over last year's contacts."""
    if store.dialect == "postgresql":
        async with store.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE contacts")
    else:
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")


async def empty_cache(store: Store) -> None:
    async with store.session() as session, session.begin():
        await session.execute(delete(CallReportDay))
        await session.execute(delete(CallReportCachedDay))


async def held(store: Store) -> int:
    async with store.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Contact)) or 0)


async def timed(work: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--url", default="", help="a store to fill (reused when it holds --rows contacts)")
    parser.add_argument("--live", action="store_true", help="also time the report without the cache")
    parser.add_argument("--days-per-fill", type=int, default=FILL_DAYS, help="days computed per transaction")
    args = parser.parse_args()
    url = args.url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='cti-bench-')) / 'reports.db'}"
    store = open_store(url)
    await store.create_schema()
    try:
        # Migrations first: a store filled by an earlier run gets the report's index (0006) here.
        if await held(store) == args.rows:
            # A store filled by an earlier run (a SQLite path or a PostgreSQL database): reused.
            await settle(store)
            print(f"store: {store.dialect}, {args.rows:,} inbound calls over 2025, reused")
        else:
            filled_s = await fill(store, args.rows)
            print(f"store: {store.dialect}, {args.rows:,} inbound calls over 2025, filled: {filled_s:.0f} s")

        async def count() -> None:
            async with store.session() as session:
                await session.scalar(select(func.count()).select_from(Contact).where(_calls(YEAR, END)))

        # The whole of 2025 is closed.
        reports = CallReports(store, lambda: END + timedelta(hours=1), days_per_fill=args.days_per_fill)
        figures: dict[str, dict[str, float]] = {}
        cold: dict[str, float] = {}
        live: dict[str, dict[str, float]] = {}
        base = await timed(count, args.repeat)
        figures["count(*)"] = {"p50_ms": statistics.median(base), "p99_ms": _p(base, 0.99)}
        for grouping in GROUPINGS:

            async def report(g: Any = grouping) -> None:
                await reports.report(YEAR, END, g)

            await empty_cache(store)
            cold[grouping] = (await timed(report, 1))[0]
            took = await timed(report, args.repeat)
            figures[grouping] = {"p50_ms": statistics.median(took), "p99_ms": _p(took, 0.99)}
            if args.live:

                async def uncached(g: Any = grouping) -> None:
                    await call_report(store, YEAR, END, g)

                took = await timed(uncached, args.repeat)
                live[grouping] = {"p50_ms": statistics.median(took), "p99_ms": _p(took, 0.99)}
        base_p50 = figures["count(*)"]["p50_ms"]
        print(f"{'count(*)':>9}: p50 {base_p50:8.1f} ms  p99 {figures['count(*)']['p99_ms']:8.1f} ms")
        for name in GROUPINGS:
            f = figures[name]
            line = (
                f"{name:>9}: cold {cold[name]:8.1f} ms  warm p50 {f['p50_ms']:6.1f} ms"
                f"  p99 {f['p99_ms']:6.1f} ms"
                f"  ({f['p50_ms'] / base_p50 if base_p50 else 0.0:4.2f}x count(*))"
            )
            if name in live:
                line += f"  without the cache p50 {live[name]['p50_ms']:8.1f} ms"
            print(line)
        result: dict[str, Any] = {
            "dialect": store.dialect,
            "rows": args.rows,
            "repeat": args.repeat,
            "ms": figures,
            "cold_ms": cold,
            "days_per_fill": reports.days_per_fill,
        }
        if live:
            result["live_ms"] = live
        print(json.dumps(result))
    finally:
        await store.dispose()


if __name__ == "__main__":
    asyncio.run(main())
