"""A fresh, seeded PostgreSQL database per test (skipped without CTI_TEST_POSTGRES_URL), and reads of it
made beside the daemon (its own connection, never through the proxy under test)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from tests.conftest import _drop_postgres, _fresh_postgres

needs_postgres = pytest.mark.skipif(
    not os.environ.get("CTI_TEST_POSTGRES_URL"), reason="needs CTI_TEST_POSTGRES_URL"
)


@contextlib.asynccontextmanager
async def seeded_postgres() -> AsyncIterator[str]:
    base = os.environ["CTI_TEST_POSTGRES_URL"]
    url, name = await _fresh_postgres(base)
    store = open_store(url)
    try:
        await store.create_schema()
        await seed_demo(store)
    finally:
        await store.dispose()
    try:
        yield url
    finally:
        await _drop_postgres(base, name)


async def contacts_by(url: str, column: str) -> dict[str, int]:
    """How many contacts the store holds per `column` value (call_id, id, description...)."""
    assert column in ("call_id", "id", "description")
    store = open_store(url)
    try:
        async with store.session() as session:
            rows = await session.execute(
                text(f"SELECT {column}, COUNT(*) FROM contacts WHERE {column} IS NOT NULL GROUP BY {column}")
            )
            return {str(key): int(n) for key, n in rows.all()}
    finally:
        await store.dispose()
