"""`cti-daemon db backup FILE` and `cti-daemon db prune`: the store's upkeep on the command line.

A SQLite store is copied with sqlite3's online backup API: a consistent copy while the daemon keeps
reading and writing (WAL included), never a half-written file. PostgreSQL has its own tool for this,
pg_dump, which the command names instead of imitating it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cti_daemon import config as config_mod
from cti_daemon import store_url

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_P = TypeVar("_P", bound=argparse.ArgumentParser)


def add_commands(db_sub: argparse._SubParsersAction[_P]) -> None:
    backup = db_sub.add_parser(
        "backup",
        help="copy a SQLite store to FILE while the daemon runs (PostgreSQL: use pg_dump)",
        description="Restore: stop the daemon, copy FILE over the store file (owner cti-daemon), "
        "remove the store's -wal and -shm files, start the daemon.",
    )
    backup.add_argument("file", type=Path, help="the copy to write (must not exist)")
    backup.add_argument("--config", type=Path)
    prune = db_sub.add_parser(
        "prune",
        help="delete closed contacts older than [journal] retention_days (or --days), now",
    )
    prune.add_argument("--days", type=int, help="override [journal] retention_days")
    prune.add_argument("--config", type=Path)


def sqlite_file(cfg: config_mod.Config) -> Path | None:
    url = cfg.database.url
    location = store_url.store_location(url)
    return Path(location) if url.startswith(store_url.SQLITE_SCHEME) and location.startswith("/") else None


def cmd_backup(cfg: config_mod.Config, target: Path) -> int:
    source = sqlite_file(cfg)
    if source is None:
        where = store_url.store_location(cfg.database.url)
        sys.stderr.write(
            f"db backup: the store is {where}, not a SQLite file: back it up with PostgreSQL's own tool, "
            f"e.g. pg_dump --format=custom --file {target} --host HOST --username USER DBNAME "
            f"(restore with pg_restore)\n"
        )
        return EXIT_USAGE
    if not source.is_file():
        sys.stderr.write(f"db backup: no store at {source} (nothing to back up; `db upgrade` makes one)\n")
        return EXIT_FAILED
    target = target.absolute()
    if target.exists():
        sys.stderr.write(f"db backup: {target} exists; choose a new file name\n")
        return EXIT_USAGE
    if target.resolve() == source.resolve():
        sys.stderr.write("db backup: the copy cannot be the store itself\n")
        return EXIT_USAGE
    partial = target.with_name(f".{target.name}.partial")
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
            src.execute("PRAGMA busy_timeout=5000")
            src.backup(dst, pages=1024)  # in steps: the daemon's writers get the lock in between
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        os.chmod(partial, 0o600)
        partial.replace(target)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        sys.stderr.write(f"db backup: {source} -> {target} failed: {exc}\n")
        return EXIT_FAILED
    sys.stdout.write(f"db backup: {source} -> {target} ({target.stat().st_size} bytes)\n")
    return EXIT_OK


def cmd_prune(cfg: config_mod.Config, days: int | None) -> int:
    retention_days = cfg.journal.retention_days if days is None else days
    if retention_days < 1:
        sys.stderr.write(
            "db prune: retention is off ([journal] retention_days = 0); give --days N to prune now\n"
        )
        return EXIT_USAGE
    from cti_daemon.crm.retention import cutoff_for, prune_journal  # noqa: PLC0415
    from cti_daemon.crm.store import StoreError, open_store  # noqa: PLC0415

    async def main() -> int:
        store = open_store(cfg.database.url)
        try:
            result = await prune_journal(store, cutoff_for(retention_days, datetime.now(UTC)))
        finally:
            await store.dispose()
        sys.stdout.write(
            f"db prune: {result.deleted} closed contacts created before {result.cutoff:%Y-%m-%d %H:%M} UTC "
            f"deleted ({retention_days} days kept); {result.kept_open} older ones are still open and kept\n"
        )
        return EXIT_OK

    try:
        return asyncio.run(main())
    except (StoreError, OSError) as exc:
        sys.stderr.write(f"db prune: cannot reach the database: {exc}\n")
        return EXIT_FAILED
