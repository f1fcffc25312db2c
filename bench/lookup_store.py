"""A customer store of 1,000,000 customers for the benchmarks, on SQLite and PostgreSQL, built once and
kept (SQLite: a file in bench/.cache/; PostgreSQL: a database of its own on the server).

The schema is the daemon's migrations (`Store.upgrade_schema`), so the benchmark measures the real
indexes. Rows go in the fast way: SQLite with plain sqlite3 `executemany` (journal and fsync off, search
triggers lifted during the load, then the search index filled and the FTS index rebuilt in one pass);
PostgreSQL with COPY, the trigram indexes built after the load. The cache key is a hash of the migrations
and this generator's version, so a change rebuilds instead of measuring a stale store.

Data: names from 60 first names and 120 surname roots with their endings (Cyrillic and Latin), every 15th
customer a company; one mobile number each (customer i owns `number_of(i)`), every 10th a second
(landline) number, every 100th shares its number with the customer before; 70% with one car and 15%
with two; 30% with an open and 20% with a closed document; 0 to 2 contacts each over 200 days.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti_daemon.crm import schema
from cti_daemon.crm.migrations import sqlite_search
from cti_daemon.crm.normalize import name_key, phone_key, plate_key
from cti_daemon.crm.store import open_store

GENERATOR = "g3"
MIGRATIONS = Path(schema.__file__).with_name("migrations")
CACHE = Path(__file__).resolve().parent / ".cache"
CHUNK = 50_000
STRIDE = 7_654_321  # odd, not a multiple of 5: i -> i * STRIDE mod 10^9 is a bijection
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

_FIRST = (  # noqa: SIM905 - a list of 60 names reads better as text
    "Иван Ольга Дмитрий Елена Алексей Мария Сергей Анна Андрей Татьяна Михаил Наталья Николай Ирина "
    "Владимир Светлана Павел Юлия Игорь Людмила Виктор Галина Артём Ксения Роман Дарья Олег Вера Пётр Нина "
    "Ivan Olga Dmitry Elena Alexey Maria Sergey Anna Andrey Tatiana Mikhail Natalia Nikolay Irina "
    "Vladimir Svetlana Pavel Julia Igor Lyudmila Viktor Galina Artem Ksenia Roman Darya Oleg Vera Petr Nina"
).split()
_ROOTS = (  # noqa: SIM905
    "Петр Иван Сидор Кузнец Попов Соколов Лебедев Козлов Новик Морозов Волк Алексе Лебед Семён Егор Павл "
    "Степан Николаев Орл Андре Макар Никит Захар Зайц Соловь Борис Яковл Григорь Роман Воробь Сергеев "
    "Кузьмин Фролов Александр Дмитри Корол Гусев Киселёв Ильин Максим Поляк Сорокин Виноград Ковал Белов "
    "Медвед Антон Тарас Жуков Баранов Филипп Комаров Давыдов Беляк Герасим Богдан Осипов Сидорк Матве "
    "Petr Ivan Sidor Kuznets Popov Sokolov Lebedev Kozlov Novik Morozov Volk Aleks Semen Egor Pavl Stepan "
    "Orl Makar Nikit Zakhar Zaits Solov Boris Yakovl Grigor Roman Vorob Kuzmin Frolov Dmitri Korol Gusev "
    "Kiselev Ilin Maksim Polyak Sorokin Vinograd Koval Belov Medved Anton Taras Zhukov Baranov Filipp"
).split()
_PLATE_RU = "АВЕКМНОРСТУХ"
_WMI = ("XW8ZZZ61Z", "Z94CB41AA", "TMBJG7NE0", "Z94K241CB", "XW7BF4FKG", "XTAGFL110", "WVWZZZ1KZ")
_MODELS = ("VW Polo", "Kia Rio", "Skoda Octavia", "Hyundai Solaris", "Toyota Camry", "Lada Vesta", "VW Golf")


def number_of(i: int) -> str:
    """Customer i's mobile number; i >= the store's size gives a number nobody owns."""
    return f"+79{(i * STRIDE) % 1_000_000_000:09d}"


def written(i: int, way: int) -> str:
    """Customer i's number as people and PBXes write it."""
    digits = number_of(i)[2:]
    return (
        f"8{digits}",
        f"+7 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
        digits,
        f"+7{digits}",
    )[way % 4]


def surname(rng: random.Random) -> str:
    root = rng.choice(_ROOTS)
    latin = root.isascii()
    tail = rng.choice(("ov", "ev", "in", "sky") if latin else ("ов", "ев", "ин", "ский"))
    if root.endswith(("ов", "ев", "ин", "ov", "ev", "in")):
        tail = ""
    return root + tail


def _vin(i: int, k: int) -> str:
    return f"{_WMI[(i + k) % len(_WMI)]}{(i * 31 + k * 7) % 100_000_000:08d}"


def _plate(rng: random.Random) -> str:
    a, b, c = (rng.choice(_PLATE_RU) for _ in range(3))
    return f"{a}{rng.randint(100, 999)}{b}{c}{rng.choice(('77', '97', '99', '177', '197', '799'))}"


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def rows(lo: int, hi: int) -> dict[str, list[tuple[object, ...]]]:
    """Customers lo..hi-1 and everything they own, as tuples in each table's column order (COLUMNS)."""
    rng = random.Random(lo)
    out: dict[str, list[tuple[object, ...]]] = {t: [] for t in COLUMNS}
    for i in range(lo, hi):
        cid = f"c-{i:07d}"
        if i % 15 == 7:
            name = f"ООО «{rng.choice(_ROOTS)}-{i % 1000}»"
        else:
            first = rng.choice(_FIRST)
            name = f"{first} {surname(rng)}"
        out["customers"].append(
            (
                cid,
                name,
                name_key(name),
                "company" if i % 15 == 7 else "person",
                f"77{i:08d}" if i % 15 == 7 else None,
                rng.choice(("active", "lapsed", "new", None)),
                rng.choice(("lead", "customer", None)),
                "customer" if i % 3 == 0 else None,
            )
        )
        owner = i - 1 if i % 100 == 99 else i  # every 100th shares the previous customer's number
        raw = written(owner, i)
        out["phones"].append((cid, raw, number_of(owner), phone_key(raw, number_of(owner)), "mobile"))
        if i % 10 == 3:
            land = f"+7495{(i * 13) % 10_000_000:07d}"
            out["phones"].append((cid, land, land, phone_key(land, land), "landline"))
        cars = 0 if i % 20 < 3 else 2 if i % 20 >= 17 else 1
        for k in range(cars):
            plate = _plate(rng)
            out["vehicles"].append(
                (
                    f"v-{i:07d}-{k}",
                    cid,
                    _vin(i, k),
                    plate,
                    plate_key(plate),
                    rng.choice(_MODELS),
                    rng.randint(2008, 2025),
                )
            )
        for k, status in ((0, "open"), (1, "closed")):
            if (status == "open" and i % 10 < 3) or (status == "closed" and i % 10 >= 8):
                kind, purpose, prefix = rng.choice(
                    (
                        ("repair_order", "service", "RO"),
                        ("sale", "showroom", "SA"),
                        ("parts_order", "shop", "PO"),
                    )
                )
                opened = NOW - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 1440))
                out["documents"].append(
                    (
                        f"d-{i:07d}-{k}",
                        cid,
                        kind,
                        f"{prefix}-{i}-{k}",
                        status,
                        purpose,
                        "e-201",
                        opened,
                        f"v-{i:07d}-0" if cars else None,
                    )
                )
        for k in range(i % 3):
            at = NOW - timedelta(days=rng.randint(0, 200), minutes=rng.randint(0, 1440))
            out["contacts"].append(
                (f"k-{i:07d}-{k}", "call", "finalized", cid, number_of(owner), at, "service", 1, "[]", False)
            )
    return out


COLUMNS = {
    "customers": ("id", "name", "name_search", "kind", "tax_id", "crm_service", "crm_sales", "crm_parts"),
    "phones": ("customer_id", "raw", "e164", "digits", "kind"),
    "vehicles": ("id", "customer_id", "vin", "plate", "plate_key", "model", "year"),
    "documents": (
        "id",
        "customer_id",
        "kind",
        "number",
        "status",
        "purpose",
        "owner_employee_id",
        "opened_at",
        "vehicle_id",
    ),
    "contacts": (
        "id",
        "type",
        "status",
        "customer_id",
        "caller_e164",
        "created_at",
        "purpose",
        "version",
        "candidate_ids",
        "purpose_auto",
    ),
}


def _progress(what: str, done: int, total: int, started: float) -> None:
    share = done / total
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(f"\r  {what} [{'#' * int(30 * share):<30}] {done:,}/{total:,} ({rate:,.0f} customers/s)")
    sys.stderr.flush()


# --- SQLite ----------------------------------------------------------------------------------------------
def cache_key() -> str:
    """Changes with the migrations' text and this generator: a stale store is never measured."""
    digest = hashlib.sha256(GENERATOR.encode())
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def sqlite_path(customers: int) -> Path:
    return CACHE / f"lookup-{customers}-{cache_key()}.sqlite"


async def ensure_sqlite(customers: int) -> Path:
    path = sqlite_path(customers)
    if not path.exists():
        sys.stderr.write(f"building an SQLite store of {customers:,} customers (kept for the next runs)\n")
        await _build_sqlite(customers, path)
    return path


async def _build_sqlite(customers: int, path: Path) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    store = open_store(f"sqlite+aiosqlite:///{tmp}")
    await store.upgrade_schema()
    await store.dispose()
    started = time.monotonic()
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-400000")
    triggers = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("BEGIN")
    for lo in range(0, customers, CHUNK):
        for table, batch in rows(lo, min(customers, lo + CHUNK)).items():
            cols = COLUMNS[table]
            db.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [tuple(_ts(v) if isinstance(v, datetime) else v for v in r) for r in batch],
            )
        _progress("sqlite", min(customers, lo + CHUNK), customers, started)
    db.execute("COMMIT")
    sys.stderr.write("\n  search index...")
    db.execute(sqlite_search.FILL)  # search_terms from the tables, then each field's FTS index
    for statement in sqlite_search.FILL_FTS:
        db.execute(statement)
    for (sql,) in triggers:
        db.execute(sql)
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    tmp.rename(path)
    sys.stderr.write(f" built in {time.monotonic() - started:.0f} s: {path}\n")


# --- PostgreSQL ------------------------------------------------------------------------------------------
def postgres_name(customers: int) -> str:
    return f"cti_bench_lookup_{customers}_{cache_key()}"


async def ensure_postgres(server_url: str, customers: int) -> str:
    """The bench database's SQLAlchemy URL on the server of `server_url`, built first if missing."""
    import asyncpg  # noqa: PLC0415

    name = postgres_name(customers)
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(dsn)
    try:
        done = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not done:
            sys.stderr.write(
                f"building a PostgreSQL store of {customers:,} customers (kept: database {name})\n"
            )
            building = name + "_building"
            await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{building}"')
            await _build_postgres(server_url.rsplit("/", 1)[0] + f"/{building}", customers)
            await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    finally:
        await admin.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def _build_postgres(url: str, customers: int) -> None:
    import asyncpg  # noqa: PLC0415

    store = open_store(url)
    await store.upgrade_schema()
    await store.dispose()
    started = time.monotonic()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        trigram = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_trgm_%'"
        )
        for index in trigram:
            await conn.execute(f"DROP INDEX {index['indexname']}")
        for lo in range(0, customers, CHUNK):
            async with conn.transaction():
                for table, batch in rows(lo, min(customers, lo + CHUNK)).items():
                    await conn.copy_records_to_table(table, records=batch, columns=list(COLUMNS[table]))
            _progress("postgres", min(customers, lo + CHUNK), customers, started)
        sys.stderr.write("\n  trigram indexes...")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for index in trigram:
            await conn.execute(index["indexdef"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    sys.stderr.write(f" built in {time.monotonic() - started:.0f} s\n")


def sample(customers: int, n: int, seed: int = 11) -> Iterator[int]:
    rng = random.Random(seed)
    for _ in range(n):
        yield rng.randrange(customers)


def warm_page_cache(db: Path) -> None:
    """Read the SQLite file once, so the OS holds it as on a daemon that has served calls for a while.
    Without it the first random reads of a 1.5 GB file wait for the disk (on this machine another
    store's reads, PostgreSQL's, evicted half of it between runs): the run would measure a cold disk."""
    started = time.perf_counter()
    with db.open("rb") as f:
        while f.read(1 << 24):
            pass
    print(f"store file read once into the page cache in {time.perf_counter() - started:.1f} s")


async def warm_postgres(url: str) -> None:
    """The same for PostgreSQL: every table and index of the bench database read into the OS cache, and
    the indexes the ring path walks into shared buffers (pg_prewarm, part of PostgreSQL's contrib)."""
    import asyncpg  # noqa: PLC0415

    started = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except asyncpg.PostgresError as exc:
            print(f"PostgreSQL not prewarmed (pg_prewarm: {exc})")
            return
        relations = await conn.fetch(
            "SELECT c.oid::regclass::text AS name FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
        )
        for rel in relations:
            await conn.execute("SELECT pg_prewarm($1::regclass, 'read')", rel["name"])
        for index in ("ix_phones_e164", "customers_pkey", "ix_vehicles_customer_id",
                      "ix_documents_customer_status", "ix_contacts_customer_created"):  # fmt: skip
            if any(r["name"] == index for r in relations):
                await conn.execute("SELECT pg_prewarm($1::regclass)", index)
    finally:
        await conn.close()
    print(f"PostgreSQL store read once into the caches in {time.perf_counter() - started:.1f} s")
