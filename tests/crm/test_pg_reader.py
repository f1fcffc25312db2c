"""The ring path's PostgreSQL reads when the server misbehaves: a silent server, a refused connection, a
server that goes away and comes back. Identification must answer in bounded time, with the reason, and
never with the password."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from cti_daemon.crm.identify import Identifier
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.store import Store, open_store
from cti_daemon.demo.broker import free_port
from tests.support.gate import TcpGate

RULES = NumberRules("RU")
PASSWORD = "pw-never-in-a-reason-7731"


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that accepts connections and never says a word (a hung database, a half-open firewall)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_given_a_silent_database_when_a_caller_rings_then_identification_answers_within_the_timeout(
    silent_port: int,
) -> None:
    store = open_store(
        f"postgresql+asyncpg://cti:{PASSWORD}@127.0.0.1:{silent_port}/cti", lookup_timeout_s=0.3
    )
    try:
        started = time.monotonic()
        result = await Identifier(store, RULES).identify("89161234567")
        took = time.monotonic() - started
    finally:
        await store.dispose()
    assert not result.identified
    assert result.reason == "customer store unavailable (no answer within 0.3 s)"
    assert took < 2.0  # bounded by the timeout, not by asyncpg's 60 s connect default


async def test_given_a_silent_database_then_the_store_is_reported_down_within_the_connect_timeout(
    silent_port: int,
) -> None:
    # The ORM's side (journal writes, the API): a connection that never completes counts as an outage.
    store = open_store(
        f"postgresql+asyncpg://cti:{PASSWORD}@127.0.0.1:{silent_port}/cti", connect_timeout_s=0.3
    )
    try:
        started = time.monotonic()
        up = await store.ping()
        took = time.monotonic() - started
    finally:
        await store.dispose()
    assert up is False
    assert took < 2.0


async def test_given_a_refused_connection_then_the_reason_names_it_without_the_password() -> None:
    store = open_store(
        f"postgresql+asyncpg://cti:{PASSWORD}@127.0.0.1:{free_port()}/cti", lookup_timeout_s=2.0
    )
    try:
        result = await Identifier(store, RULES).identify("89161234567")
    finally:
        await store.dispose()
    assert result.reason is not None and result.reason.startswith("customer store unavailable (")
    assert PASSWORD not in result.reason


async def test_given_postgres_goes_away_and_comes_back_then_identification_recovers(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("a PostgreSQL server behind a gate")
    url = store.engine.url
    assert url.port is not None
    async with TcpGate(url.port) as gate:
        gated = url.set(port=gate.port).render_as_string(hide_password=False)
        behind = open_store(gated, lookup_timeout_s=1.0)
        identifier = Identifier(behind, RULES)
        try:
            before = await identifier.identify("89161234567")
            assert before.reason == "number not in the customer store"  # answered by the database
            await gate.close()  # the connection in the pool is cut, new ones are refused
            during = await identifier.identify("89161234568")
            assert during.reason is not None and during.reason.startswith("customer store unavailable")
            await gate.open()
            after = await identifier.identify("89161234569")
            assert after.reason == "number not in the customer store"
        finally:
            await behind.dispose()


async def test_given_a_database_without_the_schema_then_the_ring_read_says_why_instead_of_raising(
    store_url: str,
) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL ring read")
    empty = open_store(store_url)  # a fresh database: `db upgrade` has not run
    try:
        result = await Identifier(empty, RULES).identify("89161234567")
    finally:
        await empty.dispose()
    assert result.reason is not None
    assert result.reason.startswith("customer store unavailable (UndefinedTableError"), result.reason
