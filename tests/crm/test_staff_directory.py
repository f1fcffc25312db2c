"""The employee directory survives the store's absence: saved beside the spool whenever it is read from the
store, read from that file when the daemon starts with the store away, replaced once the store answers."""

from __future__ import annotations

from pathlib import Path

from cti_daemon.ami.directory import LineDirectory
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.staff_directory import StaffDirectory
from cti_daemon.crm.store import open_store

AWAY = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"  # refused at once: the store is away


async def test_given_a_directory_read_once_when_the_daemon_starts_with_the_store_away_then_it_is_used(
    seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> None:
    kept = tmp_path / "journal-spool.employees.json"
    there = open_store(seeded_sqlite[0])
    try:
        directory = LineDirectory()
        assert await StaffDirectory(there, directory, kept, on_catalog=lambda _c: None).load() is True
        assert directory.employee_at("100") == "e-100" and kept.exists()
    finally:
        await there.dispose()

    away = open_store(AWAY)
    try:
        directory = LineDirectory()
        staff = StaffDirectory(away, directory, kept, on_catalog=lambda _c: None)
        assert await staff.load() is False
        assert staff.source == "file" and directory.employee_at("100") == "e-100"
    finally:
        await away.dispose()


async def test_given_no_kept_directory_and_the_store_away_then_the_directory_stays_empty(
    tmp_path: Path,
) -> None:
    away = open_store(AWAY)
    try:
        directory = LineDirectory()
        staff = StaffDirectory(away, directory, tmp_path / "none.json", on_catalog=lambda _c: None)
        assert await staff.load() is False
        assert staff.source == "none" and directory.employee_at("100") is None
    finally:
        await away.dispose()
