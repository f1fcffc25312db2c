"""A SQLite customer store of N customers for the benchmarks, built once and cached in bench/.cache/.

Rows go in with plain sqlite3 `executemany` in one transaction (journal off, no fsync): a million
customers with their phones, half of them with a car and a fifth with an open document, in well under a
minute. The schema is the daemon's own (its SQLAlchemy metadata), and the cache file's name carries a hash
of that schema, so a model change builds a fresh store instead of benchmarking a stale one.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.schema import CreateIndex, CreateTable

from cti_daemon.crm.models import Base
from cti_daemon.crm.seed import EMPLOYEES

CACHE = Path(__file__).resolve().parent / ".cache"
BATCH = 50_000
# Numbers are +7 9xx xxx xx xx: customer i gets 9 and (i * STRIDE) mod 10^9, a bijection on 0..10^9 (STRIDE
# is odd and not a multiple of 5), so every customer has a number of their own, spread over the index.
STRIDE = 7_654_321


def number_of(i: int) -> str:
    """E.164 number of customer i (0-based); i >= the store's size gives a number nobody owns."""
    return f"+79{(i * STRIDE) % 1_000_000_000:09d}"


def national_of(i: int) -> str:
    """The same number as a Russian PBX sends it: 8 and ten digits."""
    return "8" + number_of(i)[2:]


def schema_hash() -> str:
    engine = create_engine("sqlite://")
    ddl = []
    for table in Base.metadata.sorted_tables:
        ddl.append(str(CreateTable(table).compile(engine)))
        ddl.extend(sorted(str(CreateIndex(index).compile(engine)) for index in table.indexes))
    engine.dispose()
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:10]


def store_path(customers: int) -> Path:
    return CACHE / f"customers-{customers}-{schema_hash()}.sqlite"


def _progress(done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / total)
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(f"\r  store [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} ({rate:,.0f}/s)")
    sys.stderr.flush()


def _customers(lo: int, hi: int) -> Iterator[tuple[object, ...]]:
    statuses = ("active", "lapsed", None)
    for i in range(lo, hi):
        yield (
            f"c-{i:07d}",
            f"Customer {i}",
            "company" if i % 11 == 0 else "person",
            statuses[i % 3],
            statuses[(i + 1) % 3],
            statuses[(i + 2) % 3],
        )


def build(customers: int, path: Path) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{tmp}")
    Base.metadata.create_all(engine)
    engine.dispose()
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    started = time.monotonic()
    with db:
        db.executemany(
            "INSERT INTO employees (id, name, login, extension, devices, purposes) VALUES (?,?,?,?,?,?)",
            [(e, n, login, ext, f"PJSIP/{ext}", p) for e, n, login, ext, p in EMPLOYEES],
        )
        for lo in range(0, customers, BATCH):
            hi = min(customers, lo + BATCH)
            db.executemany(
                "INSERT INTO customers (id, name, kind, crm_service, crm_sales, crm_parts)"
                " VALUES (?,?,?,?,?,?)",
                _customers(lo, hi),
            )
            db.executemany(
                "INSERT INTO phones (customer_id, raw, e164, kind) VALUES (?,?,?,?)",
                ((f"c-{i:07d}", national_of(i), number_of(i), "mobile") for i in range(lo, hi)),
            )
            db.executemany(
                "INSERT INTO vehicles (id, customer_id, vin, plate, model, year) VALUES (?,?,?,?,?,?)",
                (
                    (
                        f"v-{i:07d}",
                        f"c-{i:07d}",
                        f"XW7BF4FK{i:09d}",
                        f"A{i % 1000:03d}BC77",
                        "Toyota Camry",
                        2015 + i % 10,
                    )
                    for i in range(lo, hi, 2)
                ),
            )
            db.executemany(
                "INSERT INTO documents (id, customer_id, kind, number, status, purpose) VALUES (?,?,?,?,?,?)",
                (
                    (f"d-{i:07d}", f"c-{i:07d}", "repair_order", f"RO-{i}", "open", "service")
                    for i in range(lo, hi, 5)
                ),
            )
            _progress(hi, customers, started)
    db.execute("ANALYZE")
    db.close()
    sys.stderr.write(f"\n  store built in {time.monotonic() - started:.1f} s: {path}\n")
    tmp.rename(path)


def ensure(customers: int) -> Path:
    """The cached store's path, built first if it is not there yet."""
    path = store_path(customers)
    if not path.exists():
        sys.stderr.write(f"building a store of {customers:,} customers (cached for the next runs)\n")
        build(customers, path)
    return path
