"""Migration 0007 (the call report's cache of closed days) on SQLite and PostgreSQL: downgraded, the cache
and its trigger go and contacts are written as before; upgraded again, the trigger drops a cached day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import Connection, inspect, update

from cti_daemon.crm import schema
from cti_daemon.crm.models import Contact
from cti_daemon.crm.report_cache import CallReports, cached_days
from cti_daemon.crm.reports import call_report
from cti_daemon.crm.store import Store, open_store
from cti_daemon.ids import uuid7

DAY, NEXT_DAY = date(2026, 3, 2), date(2026, 3, 3)
NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)
SPAN = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))


def _downgrade_to_0006(conn: Connection) -> None:
    command.downgrade(schema.alembic_config(conn), "0006")
    if conn.in_transaction():
        conn.commit()


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def _add_call(store: Store) -> str:
    call = Contact(
        id=uuid7(),
        type="call",
        status="finalized",
        created_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
        outcome="answered",
        answer_s=3,
    )
    async with store.session() as session, session.begin():
        session.add(call)
    return call.id


async def test_given_the_cache_migration_when_downgraded_and_upgraded_again_then_contacts_keep_being_written(
    store_url: str,
) -> None:
    store = open_store(store_url)
    try:
        await store.upgrade_schema()
        await _add_call(store)
        await CallReports(store, lambda: NOW).report(*SPAN, "day")
        async with store.connection() as conn:
            await conn.run_sync(_downgrade_to_0006)
            assert not {"call_report_days", "call_report_cached_days"} & await conn.run_sync(_tables)
            assert await conn.run_sync(schema.current) == "0006"
        second = await _add_call(store)  # no trigger is left behind to write into dropped tables
        result = await store.upgrade_schema()
        assert (result.before, result.after) == ("0006", schema.head())
        reports = CallReports(store, lambda: NOW)
        [row] = await reports.report(*SPAN, "day")
        assert row.offered == 2 and await cached_days(store, "day", DAY, NEXT_DAY) == {DAY}
        async with store.session() as session, session.begin():
            await session.execute(update(Contact).where(Contact.id == second).values(outcome="missed"))
        assert await cached_days(store, "day", DAY, NEXT_DAY) == set()
        assert await reports.report(*SPAN, "day") == await call_report(store, *SPAN, "day")
    finally:
        await store.dispose()
