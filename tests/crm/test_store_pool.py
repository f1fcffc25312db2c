"""A pool with no connection free is "store away" (StoreUnavailableError) within the deadline, on both
backends, never SQLAlchemy's own TimeoutError escaping into a background task; and the probe, on its own
connection, still says the store is up."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import text

from cti_daemon.crm.store import StoreUnavailableError, open_store


async def test_given_every_pooled_connection_busy_then_a_unit_of_work_is_store_away_and_ping_says_up(
    store_url: str,
) -> None:
    store = open_store(store_url, statement_timeout_s=0.5)
    try:
        await store.create_schema()
        size = store.engine.pool.size() + store.engine.pool._max_overflow  # type: ignore[attr-defined]
        async with contextlib.AsyncExitStack() as held:
            for _ in range(size):
                conn = await held.enter_async_context(store.engine.connect())
                await conn.execute(text("SELECT 1"))
            with pytest.raises(StoreUnavailableError, match="pool is busy"):
                async with store.session() as session:
                    await asyncio.wait_for(session.execute(text("SELECT 1")), 15)
            assert await asyncio.wait_for(store.ping(), 15) is True
    finally:
        await store.dispose()
