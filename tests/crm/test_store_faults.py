"""The store adapter against PostgreSQL faults made by a TCP proxy the test controls: a silent server or a
busy pool is "store away" (StoreUnavailableError) within the statement deadline, never a hang and never
SQLAlchemy's own TimeoutError; the probe answers on a connection of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from cti_daemon.crm.store import Store, StoreUnavailableError, open_store
from tests.support.pg import needs_postgres, seeded_postgres
from tests.support.tcp_proxy import TcpProxy

pytestmark = needs_postgres

DEADLINE_S = 1.0
BOUND_S = 15.0  # what a test waits before it calls it a hang (several deadlines, a loaded machine)


@pytest.fixture
async def proxied() -> AsyncIterator[tuple[TcpProxy, Store]]:
    async with seeded_postgres() as url, TcpProxy(5432) as proxy:
        store = open_store(proxy.url_for(url), statement_timeout_s=DEADLINE_S)
        try:
            yield proxy, store
        finally:
            await store.dispose()


async def _one(store: Store) -> int:
    async with store.session() as session:
        return int((await session.execute(text("SELECT 1"))).scalar_one())


async def test_given_postgresql_silent_when_a_statement_runs_then_the_store_is_away_within_the_deadline(
    proxied: tuple[TcpProxy, Store],
) -> None:
    proxy, store = proxied
    assert await _one(store) == 1  # a pooled connection exists: the silence comes mid-connection
    proxy.set_mode("silent")
    with pytest.raises(StoreUnavailableError, match="did not answer"):
        await asyncio.wait_for(_one(store), BOUND_S)
    with pytest.raises(StoreUnavailableError):  # held away: the next caller does not wait it out again
        await asyncio.wait_for(_one(store), DEADLINE_S / 2)
    assert await asyncio.wait_for(store.ping(), BOUND_S) is False
    proxy.set_mode("pass")
    assert await asyncio.wait_for(store.ping(), BOUND_S) is True  # the answer ends the hold-off
    assert await asyncio.wait_for(_one(store), BOUND_S) == 1


async def test_given_postgresql_silent_when_connecting_then_the_store_is_away_within_the_deadline(
    proxied: tuple[TcpProxy, Store],
) -> None:
    proxy, store = proxied
    proxy.set_mode("silent")
    with pytest.raises(StoreUnavailableError):
        await asyncio.wait_for(_one(store), BOUND_S)


async def test_given_postgresql_resetting_then_the_store_is_away_and_back_when_it_passes(
    proxied: tuple[TcpProxy, Store],
) -> None:
    proxy, store = proxied
    assert await _one(store) == 1
    proxy.set_mode("reset")
    with pytest.raises(StoreUnavailableError):
        await asyncio.wait_for(_one(store), BOUND_S)
    proxy.set_mode("pass")
    assert await asyncio.wait_for(_one(store), BOUND_S) == 1


async def test_given_postgresql_slow_but_within_the_deadline_then_statements_still_answer(
    proxied: tuple[TcpProxy, Store],
) -> None:
    proxy, store = proxied
    proxy.delay_s = DEADLINE_S / 10
    proxy.set_mode("slow")
    assert await asyncio.wait_for(_one(store), BOUND_S) == 1


async def test_given_every_pooled_connection_busy_then_a_unit_of_work_is_store_away_and_the_probe_says_up(
    proxied: tuple[TcpProxy, Store],
) -> None:
    _proxy, store = proxied
    async with contextlib.AsyncExitStack() as held:
        for _ in range(10):  # pool_size 5 + max_overflow 5
            conn = await held.enter_async_context(store.engine.connect())
            await conn.execute(text("SELECT 1"))
        with pytest.raises(StoreUnavailableError, match="pool is busy"):
            await asyncio.wait_for(_one(store), BOUND_S)
        assert await asyncio.wait_for(store.ping(), BOUND_S) is True  # busy is not down
    assert await _one(store) == 1
