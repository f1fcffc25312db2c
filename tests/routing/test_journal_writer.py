"""The journal's writer against a real database: what the database refuses for its content is one log line
naming the contact and the call, never an exception lost in a background task, and never a record that
holds back the spool's replay."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from cti_daemon.crm.journal_store import ContactRecord, JournalStore
from cti_daemon.crm.spool import Spool, SpoolWriteError
from cti_daemon.crm.store import Store, open_store
from cti_daemon.ids import uuid7
from cti_daemon.routing.journal_writer import JournalWriter, _refused_for_content


async def test_given_a_contact_the_database_refuses_then_one_log_line_says_which_and_why(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores a NUL; PostgreSQL refuses it")
    writer = JournalWriter(JournalStore(store), Spool(tmp_path / "spool.jsonl"), invalidate=lambda _id: None)
    record = _contact("Iv\x00an", "1.0")
    writer.create_soon(record)
    await writer.settle(record.id)
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    refused = [e for e in events if e["event"] == "journal.refused"]
    assert len(refused) == 1 and refused[0]["contact_id"] == record.id and refused[0]["call_id"] == "1.0"
    assert "0x00" in refused[0]["reason"]
    assert writer.spool.pending() == []  # not spooled: it would be refused again on every replay


async def test_given_a_spooled_contact_the_database_refuses_then_it_is_set_aside_and_the_rest_replays(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores a NUL; PostgreSQL refuses it")
    spool_path = tmp_path / "spool.jsonl"
    away = open_store("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # refused: the store is away
    try:
        spooling = JournalWriter(JournalStore(away), Spool(spool_path), invalidate=lambda _id: None)
        bad, good = _contact("Iv\x00an", "1.0"), _contact("Olga", "2.0")
        assert await spooling.create(bad) is False and await spooling.create(good) is False
    finally:
        await away.dispose()
    writer = JournalWriter(JournalStore(store), Spool(spool_path), invalidate=lambda _id: None)
    assert await writer.replay() == 2
    assert writer.spool.pending() == []  # nothing holds the queue back
    assert await writer.journal.get(good.id) is not None and await writer.journal.get(bad.id) is None
    (kept,) = writer.rejected.pending()
    assert kept["key"] == bad.id and kept["record"]["record"]["caller_name"] == "Iv\x00an"
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [e["key"] for e in events if e["event"] == "journal.spool_record_rejected"] == [bad.id]


def _contact(name: str, call_id: str) -> ContactRecord:
    return ContactRecord(
        id=uuid7(),
        type="call",
        status="registered",
        created_at=datetime.now(UTC),
        created_by="pbx",
        caller_name=name,
        caller_phone="89161234567",
        call_id=call_id,
    )


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "set_aside"),
    [
        (DBAPIError("INSERT", {}, _PgError("22021")), True),  # invalid byte sequence (a NUL)
        (DBAPIError("INSERT", {}, _PgError("23503")), True),  # a foreign key
        (DBAPIError("INSERT", {}, _PgError("40P01")), False),  # a deadlock: passes
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), False),
        (DataError("INSERT", {}, sqlite3.DataError("bad")), True),
    ],
    ids=["data", "integrity", "deadlock", "sqlite locked", "sqlite data"],
)
def test_given_a_database_error_then_only_a_refusal_of_the_content_sets_the_record_aside(
    error: DBAPIError, set_aside: bool
) -> None:
    assert _refused_for_content(error) is set_aside


async def test_given_a_calls_contact_still_in_the_spool_or_in_the_store_then_both_are_the_calls_contacts(
    store: Store, tmp_path: Path
) -> None:
    spool_path = tmp_path / "spool.jsonl"
    away = open_store("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")  # refused: the store is away
    try:
        spooling = JournalWriter(JournalStore(away), Spool(spool_path), invalidate=lambda _id: None)
        spooled = _contact("Olga", "7.0")
        assert await spooling.create(spooled) is False
        assert await spooling.contacts_of_call("7.0", timeout_s=5) == [spooled], "the spool counts"
    finally:
        await away.dispose()
    writer = JournalWriter(JournalStore(store), Spool(spool_path), invalidate=lambda _id: None)
    stored, other_call = _contact("Olga", "7.0"), _contact("Ivan", "8.0")
    assert await writer.create(stored) and await writer.create(other_call)
    found = await writer.contacts_of_call("7.0")
    assert sorted(c.id for c in found) == sorted([spooled.id, stored.id])


class _FullDisk:
    """os.write on a disk with no room left: a short count first, as a full tmpfs answers, then none."""

    def __init__(self) -> None:
        self.full = True

    def __call__(self, fd: int, data: bytes) -> int:
        return os.write(fd, data if not self.full else data[: len(data) // 3])


AWAY = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"  # refused at once: the store is away


async def test_given_the_store_away_and_the_spool_disk_full_then_a_contact_over_http_is_refused_not_kept_torn(
    tmp_path: Path,
) -> None:
    disk = _FullDisk()
    away = open_store(AWAY)
    try:
        writer = JournalWriter(
            JournalStore(away), Spool(tmp_path / "spool.jsonl", write=disk), invalidate=lambda _id: None
        )
        with pytest.raises(SpoolWriteError):
            await writer.create(_contact("Olga", "1.0"))
        assert writer.waiting == 0 and (tmp_path / "spool.jsonl").read_bytes() == b""
    finally:
        await away.dispose()


async def test_given_the_store_away_and_the_spool_disk_full_then_a_ring_contact_waits_in_memory_until_room(
    tmp_path: Path,
) -> None:
    disk = _FullDisk()
    away = open_store(AWAY)
    try:
        writer = JournalWriter(
            JournalStore(away), Spool(tmp_path / "spool.jsonl", write=disk), invalidate=lambda _id: None
        )
        first, second = _contact("Olga", "1.0"), _contact("Ivan", "2.0")
        writer.create_soon(first)
        await writer.settle(first.id)
        assert writer.waiting == 1 and writer.spool.pending() == []
        disk.full = False
        writer.create_soon(second)
        await writer.settle(second.id)
        assert [r["key"] for r in writer.spool.pending()] == [first.id, second.id]  # in ring order
        assert writer.waiting == 2
    finally:
        await away.dispose()


async def test_given_many_rings_at_once_then_they_are_written_together_and_a_refused_one_alone(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = _CountingJournal(store)
    writer = JournalWriter(journal, Spool(tmp_path / "spool.jsonl"), invalidate=lambda _id: None)
    records = [_contact(f"Caller {n}", f"{n}.0") for n in range(60)]
    refused = dataclasses.replace(_contact("Nobody's", "99.0"), customer_id="no-such-customer")
    for record in [*records[:30], refused, *records[30:]]:
        writer.create_soon(record)
    for record in [*records, refused]:
        await writer.settle(record.id)
    assert all([await writer.journal.get(r.id) is not None for r in records])
    assert await writer.journal.get(refused.id) is None
    assert len(journal.batches) <= 3 and sum(journal.batches) == 61  # a few transactions, not 61
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [e["contact_id"] for e in events if e["event"] == "journal.refused"] == [refused.id]


class _CountingJournal(JournalStore):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.batches: list[int] = []

    async def insert_many(self, records: Sequence[ContactRecord]) -> None:
        self.batches.append(len(records))
        await super().insert_many(records)
