"""`cti-daemon db backup FILE`: an online copy of a SQLite store (writes still in the WAL included, the
store open meanwhile), restored the documented way (stop, copy over, drop -wal/-shm, start) with every
customer and contact as they were; PostgreSQL is pointed at pg_dump."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from cti_daemon.cli import main as cli_main
from cti_daemon.crm.models import Contact, Customer
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store

TABLES = ("customers", "phones", "vehicles", "contacts", "contact_notes", "contact_events")


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


@pytest.mark.usefixtures("cli_logging")
async def test_given_a_store_in_use_when_backed_up_and_restored_then_customers_and_contacts_are_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cti.db"
    store = open_store(f"sqlite+aiosqlite:///{db}")
    await store.create_schema()
    await seed_demo(store)
    # A write the daemon just made: still in the WAL, not yet in the main file.
    late = Contact(status="registered", created_at=datetime.now(UTC), caller_name="Late Caller")
    async with store.session() as session, session.begin():
        session.add(late)
    assert (tmp_path / "cti.db-wal").stat().st_size > 0
    monkeypatch.setenv("CTI_DATABASE__URL", f"sqlite+aiosqlite:///{db}")
    backup = tmp_path / "backups" / "cti-2026-12-07.db"
    backup.parent.mkdir()
    assert await asyncio.to_thread(cli_main, ["db", "backup", str(backup)]) == 0
    assert f"db backup: {db} -> {backup}" in capsys.readouterr().out
    before = _rows(backup)
    assert len(before["customers"]) > 10 and len(before["contacts"]) > 10
    assert any("Late Caller" in row for row in before["contacts"])

    # Life goes on, then the store is lost or damaged.
    async with store.session() as session, session.begin():
        await session.execute(update(Customer).values(name="overwritten"))
        await session.execute(delete(Contact))
    await store.dispose()  # stop the daemon
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"cti.db{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, db)

    restored = open_store(f"sqlite+aiosqlite:///{db}")
    try:
        async with restored.session() as session:  # the daemon starts on the restored file
            assert await session.get(Contact, late.id) is not None
    finally:
        await restored.dispose()
    assert _rows(db) == before

    again = await asyncio.to_thread(cli_main, ["db", "backup", str(backup)])
    assert again == 2 and "exists; choose a new file name" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_logging")
async def test_given_a_postgres_store_then_backup_points_at_pg_dump_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE__URL", "postgresql+asyncpg://cti:hunter2@db.example/cti")
    code = await asyncio.to_thread(cli_main, ["db", "backup", str(tmp_path / "x.dump")])
    err = capsys.readouterr().err
    assert code == 2 and "pg_dump" in err and "PostgreSQL db.example/cti" in err
    assert "hunter2" not in err
