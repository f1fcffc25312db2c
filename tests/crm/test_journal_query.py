"""The journal's listing statement as the database plans it: the waiting queue asks every few seconds, so
its question must be a search of the few queued contacts, never a walk through the whole journal."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from sqlalchemy.dialects import sqlite as sqlite_dialect

from cti_daemon.crm.journal_store import Filters, query_statement
from cti_daemon.crm.store import open_store


async def _journal(path: Path, finished: int, queued: int) -> sqlite3.Connection:
    store = open_store(f"sqlite+aiosqlite:///{path}")
    await store.upgrade_schema()
    await store.dispose()
    conn = sqlite3.connect(path)
    rows: list[tuple[str, str, str, str, str | None]] = [
        (
            str(uuid.uuid4()),
            "call",
            "registered" if i % 50 == 0 else "finalized",
            f"2026-{1 + i % 9:02d}-10 10:00:00",
            None,
        )
        for i in range(finished)
    ]
    rows += [
        (str(uuid.uuid4()), "visit", "registered", "2026-11-30 10:00:00", "2026-11-30 10:00:00")
        for _ in range(queued)
    ]
    insert = (
        "INSERT INTO contacts (id, type, status, created_at, queued_at, node_id) VALUES (?, ?, ?, ?, ?, 'n1')"
    )
    conn.executemany(insert, rows)
    conn.commit()
    conn.execute("ANALYZE")  # statistics, as a store that has lived a while has them
    return conn


def _plan(conn: sqlite3.Connection, filters: Filters) -> str:
    sql = query_statement(filters).compile(
        dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}
    )
    return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))


async def test_given_a_long_journal_when_the_waiting_queue_asks_then_it_searches_the_queued_index(
    tmp_path: Path,
) -> None:
    conn = await _journal(tmp_path / "journal.db", finished=20_000, queued=2)
    plan = _plan(conn, Filters(status="open", queued=True, node_id="n1", limit=500))
    assert "SEARCH contacts USING INDEX ix_contacts_queued_at" in plan, plan
    assert "SCAN contacts" not in plan, plan


async def test_given_the_waiting_queue_query_then_it_answers_the_queued_visits_latest_first(
    tmp_path: Path,
) -> None:
    conn = await _journal(tmp_path / "journal.db", finished=200, queued=0)
    insert = "INSERT INTO contacts (id, type, status, created_at, queued_at, node_id) "
    insert += "VALUES (?, 'visit', ?, ?, ?, ?)"
    conn.executemany(
        insert,
        [
            ("v-early", "registered", "2026-11-30 09:00:00", "2026-11-30 09:10:00", "n1"),
            ("v-late", "assigned", "2026-11-30 08:00:00", "2026-11-30 09:20:00", "n1"),
            ("v-done", "finalized", "2026-11-30 09:00:00", "2026-11-30 09:30:00", "n1"),
            ("v-other", "registered", "2026-11-30 09:00:00", "2026-11-30 09:40:00", "n2"),
        ],
    )
    sql = query_statement(Filters(status="open", queued=True, node_id="n1", limit=500)).compile(
        dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}
    )
    assert [row[0] for row in conn.execute(f"SELECT id FROM ({sql})")] == ["v-late", "v-early"]


async def test_given_a_long_journal_when_the_console_asks_for_one_customers_contacts_then_it_uses_their_index(
    tmp_path: Path,
) -> None:
    conn = await _journal(tmp_path / "journal.db", finished=20_000, queued=0)
    plan = _plan(conn, Filters(customer="c-00001", limit=50))
    assert "SEARCH contacts USING INDEX ix_contacts_customer_created" in plan, plan
    assert "SCAN contacts" not in plan, plan
