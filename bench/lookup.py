"""Caller identification and search among 1,000,000 customers, on SQLite and PostgreSQL.

    .venv/bin/python bench/lookup.py [--customers N] [--lookups N] [--postgres URL | --no-postgres]

Builds the store once (bench/lookup_store.py; later runs reuse it), then measures in one run:
identification p50/p99 through `Identifier.identify` (what the ring path calls: number parsing, the store's
read path, the card) uncached and cached, beside a bare indexed `SELECT customer_id FROM phones WHERE
e164 = ?` on the same table with the plainest client there is (sqlite3 in the calling thread; asyncpg with a
prepared statement), and search p99 through `CustomerSearch.search`. 90% of the looked-up numbers belong
to customers, written the ways PBXes write them; 10% belong to nobody. The last line is one JSON object.
PostgreSQL: --postgres, else CTI_BENCH_POSTGRES_URL, else CTI_TEST_POSTGRES_URL (a database of its own is
created on that server and kept).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import lookup_store

from cti_daemon import logs
from cti_daemon.crm.identify import Identifier
from cti_daemon.crm.identity_cache import IdentityCache
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.search import CustomerSearch
from cti_daemon.crm.store import Store, open_store

TARGETS = {"sqlite_p99_ms": 0.5, "postgres_p99_ms": 2.0, "cached_p99_ms": 0.05, "search_p99_ms": 50.0}
RULES = NumberRules("RU")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(label: str, samples: list[float], target: float | None = None, extra: str = "") -> None:
    line = f"{label:<34} p50 {pct(samples, 0.5):7.3f} ms   p99 {pct(samples, 0.99):7.3f} ms"
    if target is not None:
        verdict = "ok" if pct(samples, 0.99) <= target else "MISSED"
        line += f"   (target p99 <= {target} ms: {verdict})"
    print(line + extra, flush=True)


async def timed(calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    gc.collect()
    out = []
    for call in calls:
        started = time.perf_counter_ns()
        await call()
        out.append((time.perf_counter_ns() - started) / 1e6)
    return out


def numbers(customers: int, n: int) -> list[tuple[str, str | None]]:
    """(caller id as the PBX sends it, the customer id expected first or None)."""
    rng = random.Random(5)
    out: list[tuple[str, str | None]] = []
    for k in range(n):
        if k % 10 == 9:
            out.append(("8" + lookup_store.number_of(customers + k)[2:], None))
            continue
        i = rng.randrange(customers)
        owner = i - 1 if i % 100 == 99 else i  # every 100th customer shares the previous one's number
        out.append((lookup_store.written(owner, rng.randrange(4)), f"c-{i:07d}"))
    return out


async def identify_run(store: Store, calls: list[tuple[str, str | None]], *, cached: bool) -> list[float]:
    identifier = Identifier(store, RULES, cache=IdentityCache(ttl_s=3600 if cached else 0, max_entries=10**6))
    for raw, _ in calls[:300]:  # warm the connection, the page cache and the number memo
        await identifier.identify(raw)
    if cached:
        for raw, _ in calls:
            await identifier.identify(raw)
    wrong = 0

    async def one(raw: str, expected: str | None) -> None:
        nonlocal wrong
        result = await identifier.identify(raw)
        if expected is not None and expected not in {c.id for c in result.candidates}:
            wrong += 1

    samples = await timed([lambda r=raw, e=want: one(r, e) for raw, want in calls])  # type: ignore[misc]
    if wrong:
        print(f"  !! {wrong} lookups did not find their customer", flush=True)
    return samples


def bare_sqlite(path: str, calls: list[tuple[str, str | None]]) -> list[float]:
    db = sqlite3.connect(path)
    query = "SELECT customer_id FROM phones WHERE e164 = ?"
    e164s = [RULES.e164(raw) for raw, _ in calls]
    for e164 in e164s[:300]:
        db.execute(query, (e164,)).fetchall()
    gc.collect()
    out = []
    for e164 in e164s:
        started = time.perf_counter_ns()
        db.execute(query, (e164,)).fetchall()
        out.append((time.perf_counter_ns() - started) / 1e6)
    db.close()
    return out


async def bare_postgres(url: str, calls: list[tuple[str, str | None]]) -> list[float]:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        statement = await conn.prepare("SELECT customer_id FROM phones WHERE e164 = $1")
        e164s = [RULES.e164(raw) for raw, _ in calls]
        for e164 in e164s[:300]:
            await statement.fetch(e164)
        return await timed([lambda e=e164: statement.fetch(e) for e164 in e164s])  # type: ignore[misc]
    finally:
        await conn.close()


SEARCH_KINDS = ("name part", "phone digits", "VIN end", "plate", "name LIKE")


def search_queries(customers: int, n: int) -> list[tuple[str, str | None]]:
    """(query, the customer id it must find or None for broad name queries), from the store's own rows."""
    rng = random.Random(9)
    lo = (customers // 2 // lookup_store.CHUNK) * lookup_store.CHUNK
    data = lookup_store.rows(lo, min(customers, lo + lookup_store.CHUNK))
    latin = str.maketrans("АВЕКМНОРСТУХ", "ABEKMHOPCTYX")
    out: list[tuple[str, str | None]] = []
    for k in range(n):
        kind = k % 5
        if kind == 0:  # a fragment of a surname
            name = rng.choice(data["customers"])[1]
            last = str(name).split()[-1]
            start = rng.randrange(max(1, len(last) - 4))
            out.append((last[start : start + 5].lower(), None))
        elif kind == 1:  # seven digits of a number
            phone = rng.choice(data["phones"])
            start = rng.randrange(2, 6)
            out.append((str(phone[2])[start : start + 7], str(phone[0])))
        elif kind == 2:  # the end of a VIN
            car = rng.choice(data["vehicles"])
            out.append((str(car[2])[-8:].lower(), str(car[1])))
        elif kind == 3:  # a plate, some letters typed on a Latin keyboard
            car = rng.choice(data["vehicles"])
            plate = "".join(c.translate(latin) if rng.random() < 0.5 else c for c in str(car[3]))
            out.append((plate, str(car[1])))
        else:  # LIKE: first name and the start of a surname
            first, *rest = str(rng.choice(data["customers"])[1]).split()
            out.append((f"{first} {rest[-1][:3]}%" if rest else f"{first}%", None))
    return out


async def search_run(store: Store, queries: list[tuple[str, str | None]]) -> list[float]:
    search = CustomerSearch(store, RULES)
    for q, _ in queries[:20]:
        await search.search(q)
    missed = 0

    async def one(q: str, expected: str | None) -> None:
        nonlocal missed
        page = await search.search(q, limit=20)
        found = {c.id for c in page.items}
        if expected is not None and expected not in found and len(found) < 20:  # not just on a later page
            missed += 1

    samples = await timed([lambda q=q, e=e: one(q, e) for q, e in queries])  # type: ignore[misc]
    if missed:
        print(f"  !! {missed} searches did not find their customer", flush=True)
    by_kind = {kind: samples[k :: len(SEARCH_KINDS)] for k, kind in enumerate(SEARCH_KINDS)}
    print("  search p99 by kind: " + ", ".join(f"{k} {pct(v, 0.99):.1f} ms" for k, v in by_kind.items() if v))
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--searches", type=int, default=250)
    parser.add_argument("--postgres", help="server URL (postgresql+asyncpg://user@host:port/db)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    logs.configure(level="warning", fmt="console")
    pg_server = None if args.no_postgres else (
        args.postgres or os.environ.get("CTI_BENCH_POSTGRES_URL") or os.environ.get("CTI_TEST_POSTGRES_URL")
    )  # fmt: skip
    result: dict[str, Any] = {"bench": "lookup", "customers": args.customers}
    calls = numbers(args.customers, args.lookups)
    queries = search_queries(args.customers, args.searches)
    print(
        f"{args.customers:,} customers; {len(calls):,} lookups (10% unknown numbers); {len(queries)} searches"
    )

    path = await lookup_store.ensure_sqlite(args.customers)
    lookup_store.warm_page_cache(path)
    store = open_store(f"sqlite+aiosqlite:///{path}")
    try:
        bare = bare_sqlite(str(path), calls)
        show("sqlite bare indexed SELECT", bare, extra="   (the raw limit: sqlite3, same thread)")
        uncached = await identify_run(store, calls, cached=False)
        show("sqlite identify, uncached", uncached, TARGETS["sqlite_p99_ms"])
        cached = await identify_run(store, calls, cached=True)
        show("sqlite identify, cached", cached, TARGETS["cached_p99_ms"])
        sqlite_search = await search_run(store, queries)
        show("sqlite search", sqlite_search, TARGETS["search_p99_ms"])
    finally:
        await store.dispose()
    result.update(
        sqlite_p50_ms=pct(uncached, 0.5),
        sqlite_p99_ms=pct(uncached, 0.99),
        sqlite_cached_p50_ms=pct(cached, 0.5),
        sqlite_cached_p99_ms=pct(cached, 0.99),
        bare_select_p99_ms=pct(bare, 0.99),
        sqlite_search_p99_ms=pct(sqlite_search, 0.99),
    )
    searches = [sqlite_search]
    if pg_server:
        url = await lookup_store.ensure_postgres(pg_server, args.customers)
        await lookup_store.warm_postgres(url)
        store = open_store(url)
        try:
            pg_bare = await bare_postgres(url, calls)
            show("postgres bare indexed SELECT", pg_bare, extra="   (the raw limit: asyncpg, prepared)")
            pg_uncached = await identify_run(store, calls, cached=False)
            show("postgres identify, uncached", pg_uncached, TARGETS["postgres_p99_ms"])
            pg_cached = await identify_run(store, calls, cached=True)
            show("postgres identify, cached", pg_cached, TARGETS["cached_p99_ms"])
            pg_search = await search_run(store, queries)
            show("postgres search", pg_search, TARGETS["search_p99_ms"])
        finally:
            await store.dispose()
        searches.append(pg_search)
        result.update(
            postgres_p50_ms=pct(pg_uncached, 0.5),
            postgres_p99_ms=pct(pg_uncached, 0.99),
            postgres_cached_p99_ms=pct(pg_cached, 0.99),
            postgres_bare_select_p99_ms=pct(pg_bare, 0.99),
            postgres_search_p99_ms=pct(pg_search, 0.99),
        )
    else:
        print("postgres: not measured (no --postgres, CTI_BENCH_POSTGRES_URL or CTI_TEST_POSTGRES_URL)")
        result.update(postgres_p50_ms=None, postgres_p99_ms=None)
    result["search_p99_ms"] = max(pct(s, 0.99) for s in searches)  # the slower backend's
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    asyncio.run(main())
