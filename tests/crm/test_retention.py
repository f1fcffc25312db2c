"""Journal retention on SQLite and PostgreSQL: closed contacts older than N days go with their notes and
events; open ones and recent ones stay; off by default; the daemon prunes at start; `db prune` on demand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cti_daemon.app import Daemon
from cti_daemon.cli import main as cli_main
from cti_daemon.config import Config, load
from cti_daemon.crm.models import Contact, ContactEvent, ContactNote
from cti_daemon.crm.retention import cutoff_for, prune_journal
from cti_daemon.crm.store import Store, open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def _journal(store: Store) -> dict[str, str]:
    """Four contacts: name -> id."""
    made = {
        "old_finalized": Contact(status="finalized", created_at=NOW - timedelta(days=200)),
        "old_missed": Contact(status="missed", created_at=NOW - timedelta(days=91)),
        "old_open": Contact(status="registered", created_at=NOW - timedelta(days=300)),
        "recent": Contact(status="finalized", created_at=NOW - timedelta(days=10)),
    }
    async with store.session() as session, session.begin():
        session.add_all(made.values())
        await session.flush()
        for contact in made.values():
            session.add(ContactNote(contact_id=contact.id, author="t", at=contact.created_at, text="n"))
            session.add(ContactEvent(contact_id=contact.id, at=contact.created_at, kind="registered"))
    return {name: c.id for name, c in made.items()}


async def _left(store: Store) -> tuple[set[str], int, int]:
    async with store.session() as session:
        ids = set((await session.scalars(select(Contact.id))).all())
        notes = await session.scalar(select(func.count()).select_from(ContactNote))
        events = await session.scalar(select(func.count()).select_from(ContactEvent))
    return ids, int(notes or 0), int(events or 0)


async def test_given_old_closed_open_and_recent_contacts_when_pruned_at_90_days_then_old_closed_ones_go(
    store: Store,
) -> None:
    ids = await _journal(store)
    result = await prune_journal(store, cutoff_for(90, NOW), batch=1)  # batches of one: the loop runs
    assert (result.deleted, result.kept_open) == (2, 1)
    assert await _left(store) == ({ids["old_open"], ids["recent"]}, 2, 2)
    again = await prune_journal(store, cutoff_for(90, NOW))
    assert (again.deleted, again.kept_open) == (0, 1)


def test_given_no_journal_section_then_retention_is_off_and_a_negative_value_is_refused() -> None:
    assert Config().journal.retention_days == 0
    assert load(None, {}, require_secret=False).journal.retention_days == 0
    with pytest.raises(Exception, match=r"journal\.retention_days"):
        load(None, {"CTI_JOURNAL__RETENTION_DAYS": "-1"}, require_secret=False)


@pytest.mark.usefixtures("cli_logging")
async def test_given_db_prune_on_the_command_line_then_it_deletes_now_and_says_so(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(store_url)
    await store.create_schema()
    old = Contact(status="finalized", created_at=datetime.now(UTC) - timedelta(days=40))
    async with store.session() as session, session.begin():
        session.add(old)
    await store.dispose()
    monkeypatch.setenv("CTI_DATABASE__URL", store_url)
    off = await asyncio.to_thread(cli_main, ["db", "prune"])
    assert off == 2 and "retention is off" in capsys.readouterr().err
    monkeypatch.setenv("CTI_JOURNAL__RETENTION_DAYS", "30")
    assert await asyncio.to_thread(cli_main, ["db", "prune"]) == 0
    assert "db prune: 1 closed contacts created before" in capsys.readouterr().out
    assert await asyncio.to_thread(cli_main, ["db", "prune", "--days", "400"]) == 0
    assert "db prune: 0 closed contacts" in capsys.readouterr().out


async def test_given_retention_set_then_the_daemon_prunes_when_it_starts(
    tmp_path: Path, sim: Sim, broker: LocalBroker
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    store = open_store(url)
    await store.create_schema()
    ids = await _journal(store)  # created relative to NOW; the daemon's clock says NOW too
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=url, journal={"retention_days": 90})
    try:
        async with Daemon(config, clock=lambda: NOW):
            for _ in range(100):
                left, _, _ = await _left(store)
                if len(left) == 2:
                    break
                await asyncio.sleep(0.05)
        assert (await _left(store))[0] == {ids["old_open"], ids["recent"]}
    finally:
        await store.dispose()
