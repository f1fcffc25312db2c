"""Sessions live in the store: a second node sees a sign-in and a sign-out, idle and absolute ends hold,
and a store outage signs nobody out who was already checked (PostgreSQL behind a gate the test closes)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cti_daemon.api.session_book import SessionBook, digest_of
from cti_daemon.api.signin_limits import SignInLimits
from cti_daemon.crm.models import WebSession
from cti_daemon.crm.seed import SeedSummary, seed_demo
from cti_daemon.crm.store import Store, StoreUnavailableError, open_store
from tests.conftest import _drop_postgres, _fresh_postgres
from tests.support.browser import PASSWORDS, give_passwords
from tests.support.gate import TcpGate


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _book(
    store: Store, clock: Clock, *, idle_s: float = 600, max_s: float = 3600, per_login: int = 50
) -> SessionBook:
    limits = SignInLimits(per_login=per_login, per_address=50, window_s=60)
    return SessionBook(store, idle_s=idle_s, max_s=max_s, limits=limits, clock=clock)


@pytest.fixture
async def db_url(seeded_sqlite: tuple[str, SeedSummary]) -> str:
    await give_passwords(seeded_sqlite[0])
    return seeded_sqlite[0]


async def test_given_two_nodes_on_one_store_then_a_sign_in_holds_on_both_and_a_sign_out_ends_it_on_both(
    db_url: str,
) -> None:
    clock = Clock()
    one, two = open_store(db_url), open_store(db_url)
    try:
        first, second = _book(one, clock), _book(two, clock)
        signed = await first.sign_in("porlov", PASSWORDS["porlov"], "10.0.0.7")
        seen = await second.check(signed.session_id)
        assert seen is not None and seen.employee_id == "e-201"
        await second.sign_out(signed.session_id)
        assert await first.check(signed.session_id) is None
        async with one.session() as session:
            assert await session.scalar(select(func.count()).select_from(WebSession)) == 0
    finally:
        await one.dispose()
        await two.dispose()


async def test_given_the_store_then_only_the_session_ids_digest_is_kept(db_url: str) -> None:
    store = open_store(db_url)
    try:
        signed = await _book(store, Clock()).sign_in("porlov", PASSWORDS["porlov"], "10.0.0.7")
        async with store.session() as session:
            kept = (await session.scalars(select(WebSession.id_digest))).all()
    finally:
        await store.dispose()
    assert kept == [digest_of(signed.session_id)]
    assert signed.session_id not in kept[0]


async def test_given_idle_then_the_session_ends_and_used_it_lasts_until_its_absolute_end(db_url: str) -> None:
    clock = Clock()
    store = open_store(db_url)
    try:
        book = _book(store, clock, idle_s=600, max_s=1800)
        idle = await book.sign_in("porlov", PASSWORDS["porlov"], "10.0.0.7")
        used = await book.sign_in("ivolkova", PASSWORDS["ivolkova"], "10.0.0.8")
        for _ in range(5):  # 5 × 5 min: Irina keeps working, Pavel has left
            clock.now += timedelta(minutes=5)
            assert await book.check(used.session_id) is not None
        assert await book.check(idle.session_id) is None
        clock.now += timedelta(minutes=5)  # 30 min after signing in: the absolute end
        assert await book.check(used.session_id) is None
    finally:
        await store.dispose()


@pytest.fixture
async def gated_postgres() -> AsyncIterator[tuple[str, TcpGate]]:
    base = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("CTI_TEST_POSTGRES_URL is not set")
    url, name = await _fresh_postgres(base)
    store = open_store(url)
    await store.create_schema()
    await seed_demo(store)
    await store.dispose()
    await give_passwords(url)
    try:
        async with TcpGate(5432) as gate:
            yield url.replace("127.0.0.1:5432", f"127.0.0.1:{gate.port}"), gate
    finally:
        await _drop_postgres(base, name)


async def test_given_a_store_outage_then_checked_sessions_hold_for_their_idle_time_and_a_sign_out_still_ends(
    gated_postgres: tuple[str, TcpGate],
) -> None:
    url, gate = gated_postgres
    clock = Clock()
    store = open_store(url, connect_timeout_s=1.0)
    try:
        book = _book(store, clock, idle_s=600, per_login=1)  # one failure would limit a login
        pavel = await book.sign_in("porlov", PASSWORDS["porlov"], "10.0.0.7")
        irina = await book.sign_in("ivolkova", PASSWORDS["ivolkova"], "10.0.0.8")
        await gate.close()
        await store.engine.dispose()  # pooled connections would otherwise fail one by one
        clock.now += timedelta(minutes=5)
        assert (await book.check(pavel.session_id)) is not None
        assert await book.check("a-session-id-this-node-never-saw") is None
        with pytest.raises(StoreUnavailableError):  # the API answers 503; no failure is counted
            await book.sign_in("slebedev", "any-password-at-all", "10.0.0.9")
        assert book.limits.retry_after("slebedev", "10.0.0.9") is None
        await book.sign_out(irina.session_id)
        assert await book.check(irina.session_id) is None
        clock.now += timedelta(minutes=9)  # still within Pavel's idle time, counted from the last check
        assert (await book.check(pavel.session_id)) is not None
        clock.now += timedelta(minutes=11)  # idle longer than allowed, store or not
        assert await book.check(pavel.session_id) is None
        await gate.open()
        clock.now = datetime(2026, 3, 2, 9, 1, tzinfo=UTC)
        await book.check(pavel.session_id)  # the store answers again: the deferred sign-out is done
        async with store.session() as session:
            left = (await session.scalars(select(WebSession.id_digest))).all()
        assert digest_of(irina.session_id) not in left
    finally:
        await store.dispose()
