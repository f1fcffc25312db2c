"""The schema comes from the migrations (`cti-daemon db upgrade`): models and database agree, upgrading
twice changes nothing, and a database made by the spine's `create_all` is taken over with its data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from cti_daemon.app import Daemon
from cti_daemon.cli import main as cli_main
from cti_daemon.crm import schema
from cti_daemon.crm.identify import Identifier
from cti_daemon.crm.models import Base
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.search import CustomerSearch
from cti_daemon.crm.store import Store, open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config


def _ours(obj: Any, name: str | None, kind: str, _reflected: bool, _compare_to: Any) -> bool:
    # The search index lives outside the models: SQLite's search_terms/FTS5 tables, PostgreSQL's GIN indexes.
    if kind == "table" and name is not None and name.startswith(("search_", "alembic_version")):
        return False
    return not (kind == "index" and name is not None and name.startswith("ix_trgm_"))


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_given_a_fresh_database_then_the_migrations_make_exactly_the_models(store_url: str) -> None:
    store = open_store(store_url)
    try:
        first = await store.upgrade_schema()
        again = await store.upgrade_schema()
        async with store.connection() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await store.dispose()
    assert (first.before, first.after, first.adopted) == (None, schema.head(), False)
    assert not again.changed
    assert differences == []


SPINE_ROWS = [
    "INSERT INTO customers VALUES ('c-1', 'Пётр Семёнов', 'person', NULL, 'active', NULL, 'customer')",
    "INSERT INTO phones (customer_id, raw, e164, kind) "
    "VALUES ('c-1', '8 916 123-45-67', '+79161234567', 'mobile')",
    "INSERT INTO vehicles VALUES ('v-1', 'c-1', 'xw8zzz61zkg012345', 'А123ВС77', 'VW Polo', 2019)",
    "INSERT INTO documents "
    "VALUES ('d-1', 'c-1', 'repair_order', 'RO-1', 'open', 'service', 'e-201', NULL, 'v-1')",
    "INSERT INTO employees VALUES ('e-201', 'Pavel Orlov', 'porlov', '201', 'PJSIP/201', 'service shop')",
    "INSERT INTO employees VALUES ('e-202', 'Irina Volkova', NULL, '202', '', 'showroom tires')",
    "INSERT INTO contacts VALUES ('k-1', 'call', 'finalized', 'call-1', 'c-1', '89161234567', 'service', "
    "'2026-11-20 09:00:00')",
    "INSERT INTO contacts VALUES ('k-2', 'call', 'missed', 'call-2', 'c-gone', '89161234567', NULL, "
    "'2026-11-21 09:00:00')",
]


async def _spine_database(url: str) -> None:
    """A database as the spine's `create_all` left it: revision 0001's tables, data, no alembic_version."""
    store = open_store(url)
    try:
        async with store.connection() as conn:
            await conn.run_sync(lambda c: schema.upgrade(c, "0001"))
            for statement in [*SPINE_ROWS, "DROP TABLE alembic_version"]:
                await conn.execute(text(statement))
            await conn.commit()
    finally:
        await store.dispose()


async def test_given_a_database_from_the_spine_then_db_upgrade_takes_it_over_and_keeps_its_data(
    store_url: str,
) -> None:
    await _spine_database(store_url)
    store = open_store(store_url)
    try:
        result = await store.upgrade_schema()
        assert (result.before, result.after, result.adopted) == ("0001", schema.head(), True)
        async with store.connection() as conn:
            assert await conn.run_sync(_differences) == []
            contacts = (
                await conn.execute(text("SELECT id, customer_id, caller_phone FROM contacts ORDER BY id"))
            ).all()
        assert [tuple(c) for c in contacts] == [("k-1", "c-1", "89161234567"), ("k-2", None, "89161234567")]
        card = (await Identifier(store, NumberRules("RU")).identify("89161234567")).customer
        assert (
            card is not None and card.name == "Пётр Семёнов" and card.vehicles[0].vin == "XW8ZZZ61ZKG012345"
        )
        assert [d.number for d in card.open_documents] == ["RO-1"]
        search = CustomerSearch(store, NumberRules("RU"))
        assert [c.id for c in (await search.search("семенов")).items] == ["c-1"]
        assert [c.id for c in (await search.search("a123bc")).items] == ["c-1"]
        assert await store.employee_purposes() == {
            "e-201": ("service", "shop"),
            "e-202": ("showroom", "tires"),
        }
        assert {o.employee_id: o.devices for o in await store.line_owners()} == {
            "e-201": ("PJSIP/201",),
            "e-202": ("PJSIP/202",),
        }
    finally:
        await store.dispose()


@pytest.mark.usefixtures("cli_logging")
def test_given_db_upgrade_on_the_command_line_then_it_says_what_it_did_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}")
    assert cli_main(["db", "upgrade"]) == 0
    assert f"migrated from an empty database to {schema.head()}" in capsys.readouterr().out
    assert cli_main(["db", "upgrade"]) == 0
    assert f"schema is up to date (revision {schema.head()})" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_logging")
def test_given_an_unreachable_database_then_db_upgrade_exits_1_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE__URL", "postgresql+asyncpg://cti:Sup3rS3cret@127.0.0.1:1/cti")
    assert cli_main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the database" in err and "Sup3rS3cret" not in err


async def test_given_the_journal_tables_then_a_contact_keeps_its_notes_events_and_optimistic_lock(
    store: Store,
) -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from sqlalchemy.orm.exc import StaleDataError  # noqa: PLC0415

    from cti_daemon.crm.models import Contact, ContactEvent, ContactNote  # noqa: PLC0415

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    async with store.session() as session, session.begin():
        contact = Contact(type="visit", purpose="service", candidate_ids=["c-1", "c-2"], created_at=now)
        session.add(contact)
        await session.flush()
        session.add(ContactNote(contact_id=contact.id, author="e-100", at=now, text="waits in the lobby"))
        session.add(
            ContactEvent(contact_id=contact.id, at=now, actor="e-100", kind="registered", data={"a": 1})
        )
    assert len(contact.id) == 36 and contact.version == 1
    async with store.session() as first, store.session() as second:
        mine = await first.get(Contact, contact.id)
        theirs = await second.get(Contact, contact.id)
        assert mine is not None and theirs is not None and mine.candidate_ids == ["c-1", "c-2"]
        mine.status = "assigned"
        await first.commit()
        theirs.status = "missed"
        with pytest.raises(StaleDataError):
            await second.commit()


async def test_given_a_database_never_upgraded_then_the_daemon_says_to_run_db_upgrade(
    tmp_path: Path, sim: Sim, broker: LocalBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Daemon(config) as daemon:
        await daemon.wait_ready(10)  # AMI, MQTT and the database answer: only the schema is missing
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    outdated = [e for e in events if e["event"] == "store.schema_outdated"]
    assert outdated and outdated[0]["revision"] is None and outdated[0]["fix"] == "cti-daemon db upgrade"
    assert any(e["event"] == "directory.unavailable" and "no such table" in e["reason"] for e in events)
