"""The journal's writer against a real database: what the database refuses for its content is one log line
naming the contact and the call, never an exception lost in a background task."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cti_daemon.crm.journal_store import ContactRecord, JournalStore
from cti_daemon.crm.spool import Spool
from cti_daemon.crm.store import Store
from cti_daemon.ids import uuid7
from cti_daemon.routing.journal_writer import JournalWriter


async def test_given_a_contact_the_database_refuses_then_one_log_line_says_which_and_why(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite stores a NUL; PostgreSQL refuses it")
    writer = JournalWriter(JournalStore(store), Spool(tmp_path / "spool.jsonl"), invalidate=lambda _id: None)
    record = ContactRecord(
        id=uuid7(),
        type="call",
        status="registered",
        created_at=datetime.now(UTC),
        created_by="pbx",
        caller_name="Iv\x00an",
        caller_phone="89161234567",
        call_id="1.0",
    )
    writer.create_soon(record)
    await writer.settle(record.id)
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    refused = [e for e in events if e["event"] == "journal.refused"]
    assert len(refused) == 1 and refused[0]["contact_id"] == record.id and refused[0]["call_id"] == "1.0"
    assert "0x00" in refused[0]["reason"]
    assert writer.spool.pending() == []  # not spooled: it would be refused again on every replay
