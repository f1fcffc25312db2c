"""Caller identification against a seeded store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from cti_daemon.crm.identify import Identifier, VehicleCard
from cti_daemon.crm.identity_cache import IdentityCache
from cti_daemon.crm.models import Contact, Customer, Document, Phone, Vehicle
from cti_daemon.crm.numbers import NumberKind, NumberRules
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import Store, open_store

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def seeded(store: Store) -> Store:
    await seed_demo(store, now=NOW)
    return store


async def test_given_a_national_number_when_identified_then_the_customer_card_is_complete(
    seeded: Store,
) -> None:
    identifier = Identifier(seeded, NumberRules("RU"), clock=lambda: NOW)
    async with seeded.session() as session:
        raw = (
            await session.execute(text("SELECT raw, e164 FROM phones WHERE customer_id = 'c-00001'"))
        ).one()
    national = "8" + raw.e164[2:]
    result = await identifier.identify(national)
    assert result.identified and result.reason is None
    card = result.customer
    assert card is not None and card.id == "c-00001"
    assert card.vehicles and all(v.vin and len(v.vin) == 17 for v in card.vehicles)
    assert all(d.status == "open" for d in card.open_documents)
    assert card.contacts_90d <= 3


async def test_given_the_same_number_written_three_ways_then_the_same_customer(seeded: Store) -> None:
    identifier = Identifier(seeded, NumberRules("RU"), clock=lambda: NOW)
    first = await identifier.identify("89162215279")
    assert first.customer is not None
    e164 = first.number.e164
    assert e164 == "+79162215279"
    for written in ("+7 (916) 221-52-79", "9162215279", "0079162215279"):
        again = await identifier.identify(written)
        assert again.customer is not None and again.customer.id == first.customer.id


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        ("anonymous", NumberKind.WITHHELD, "number withheld"),
        ("", NumberKind.WITHHELD, "no caller id"),
        ("100", NumberKind.INTERNAL, "internal extension"),
        ("not a number", NumberKind.INVALID, "not a phone number"),
        ("84950000000", NumberKind.EXTERNAL, "number not in the customer store"),
    ],
)
async def test_given_numbers_that_identify_nobody_then_the_reason_is_given(
    seeded: Store, raw: str, kind: NumberKind, reason: str
) -> None:
    result = await Identifier(seeded, NumberRules("RU")).identify(raw)
    assert not result.identified and result.customer is None
    assert result.number.kind is kind and result.reason == reason


async def test_given_a_shared_number_then_every_owner_is_a_candidate_latest_contact_first(
    seeded: Store,
) -> None:
    summary_store = seeded
    identifier = Identifier(summary_store, NumberRules("RU"), clock=lambda: NOW)
    async with summary_store.session() as session:
        e164 = (
            await session.execute(
                text("SELECT e164 FROM phones GROUP BY e164 HAVING COUNT(DISTINCT customer_id) > 1 LIMIT 1")
            )
        ).scalar_one()
    result = await identifier.identify(e164)
    assert len(result.candidates) == 2
    lasts = [c.last_contact_at for c in result.candidates]
    if all(lasts):
        assert lasts[0] >= lasts[1]  # type: ignore[operator]


async def test_given_the_store_is_unreachable_then_identification_says_so_instead_of_raising() -> None:
    dead = open_store("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        result = await Identifier(dead, NumberRules("RU")).identify("+79161234567")
    finally:
        await dead.dispose()
    assert not result.identified
    assert result.reason is not None and result.reason.startswith("customer store unavailable")


async def test_given_a_cache_then_a_repeated_number_is_answered_from_it_until_the_ttl(seeded: Store) -> None:
    ticks = [0.0]
    cache = IdentityCache(ttl_s=30, clock=lambda: ticks[0])
    identifier = Identifier(seeded, NumberRules("RU"), clock=lambda: NOW, cache=cache)
    first = await identifier.identify("89162215279")
    again = await identifier.identify("+7 916 221-52-79")
    assert not first.cached and again.cached
    assert again.candidates == first.candidates
    owner = first.customer
    assert owner is not None
    async with seeded.session() as session, session.begin():
        await session.execute(
            text("UPDATE customers SET name = 'Renamed Elsewhere' WHERE id = :id"), {"id": owner.id}
        )
    stale = await identifier.identify("89162215279")
    assert stale.cached and stale.customer is not None and stale.customer.name == owner.name
    ticks[0] = 31.0
    expired = await identifier.identify("89162215279")
    assert (
        not expired.cached and expired.customer is not None and expired.customer.name == "Renamed Elsewhere"
    )


@pytest.mark.parametrize("key", ["+79162215279", "customer"])
async def test_given_our_own_write_then_invalidate_by_number_or_customer_drops_the_card(
    seeded: Store, key: str
) -> None:
    identifier = Identifier(seeded, NumberRules("RU"), clock=lambda: NOW, cache=IdentityCache(ttl_s=300))
    before = await identifier.identify("89162215279")
    assert before.customer is not None
    async with seeded.session() as session, session.begin():
        session.add(Contact(customer_id=before.customer.id, created_at=NOW - timedelta(minutes=5)))
    assert (await identifier.identify("89162215279")).cached
    identifier.invalidate(before.customer.id if key == "customer" else key)
    after = await identifier.identify("89162215279")
    assert not after.cached and after.customer is not None
    assert after.customer.contacts_90d == before.customer.contacts_90d + 1
    assert after.customer.last_contact_at == NOW - timedelta(minutes=5)


async def test_given_an_unknown_number_is_cached_then_an_import_of_its_owner_invalidates_it(
    seeded: Store,
) -> None:
    identifier = Identifier(seeded, NumberRules("RU"), cache=IdentityCache(ttl_s=300))
    assert (await identifier.identify("84951112233")).reason == "number not in the customer store"
    async with seeded.session() as session, session.begin():
        session.add(Customer(id="c-new", name="New Customer"))
        await session.flush()
        session.add(Phone(customer_id="c-new", raw="84951112233", e164="+74951112233"))
    identifier.invalidate("+74951112233")
    result = await identifier.identify("8 495 111-22-33")
    assert result.customer is not None and result.customer.id == "c-new"


async def test_given_a_read_that_started_before_an_invalidation_then_its_answer_is_not_cached() -> None:
    cache = IdentityCache(ttl_s=300)
    generation = cache.generation
    cache.invalidate("+79161234567")
    cache.put("+79161234567", [], generation=generation)
    assert cache.get("+79161234567") is None
    cache.put("+79161234567", [], generation=cache.generation)
    assert cache.get("+79161234567") == ()


def test_given_a_full_cache_then_the_oldest_entry_makes_room() -> None:
    cache = IdentityCache(ttl_s=300, max_entries=2)
    for number in ("+1", "+2", "+3"):
        cache.put(number, [], generation=cache.generation)
    assert cache.get("+1") is None and cache.get("+2") == () and cache.get("+3") == ()
    assert len(cache) == 2


async def test_given_the_sqlite_file_is_gone_then_identification_says_the_store_is_unavailable(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'cti.db'}")
    (tmp_path / "gone").rmdir()
    try:
        result = await Identifier(store, NumberRules("RU")).identify("+79161234567")
    finally:
        await store.dispose()
    assert not result.identified
    assert result.reason is not None and result.reason.startswith("customer store unavailable")


async def test_given_a_customer_with_documents_then_the_card_lists_open_ones_newest_first(
    store: Store,
) -> None:
    async with store.session() as session, session.begin():
        session.add(Customer(id="c-d", name="Doc Owner", crm_service="active", crm_parts="customer"))
        await session.flush()
        session.add(Phone(customer_id="c-d", raw="89160000001", e164="+79160000001"))
        session.add(
            Vehicle(
                id="v-1",
                customer_id="c-d",
                vin="xw8zzz61zkg000001",
                plate="А001АА77",
                model="Polo",
                year=2020,
            )
        )
        for i, (status, days) in enumerate([("open", 10), ("closed", 1), ("open", 2)]):
            session.add(
                Document(
                    id=f"d-{i}",
                    customer_id="c-d",
                    kind="repair_order",
                    number=f"RO-{i}",
                    status=status,
                    purpose="service",
                    opened_at=NOW - timedelta(days=days),
                )
            )
        session.add(Contact(customer_id="c-d", created_at=NOW - timedelta(days=100)))
        session.add(Contact(customer_id="c-d", created_at=NOW - timedelta(days=3)))
    card = (await Identifier(store, NumberRules("RU"), clock=lambda: NOW).identify("89160000001")).customer
    assert card is not None
    assert [d.number for d in card.open_documents] == ["RO-2", "RO-0"]
    assert card.open_documents[0].opened_at == NOW - timedelta(days=2)
    assert card.vehicles == [VehicleCard("v-1", "XW8ZZZ61ZKG000001", "А001АА77", "Polo", 2020)]
    assert card.crm_status == {"service": "active", "parts": "customer"}
    assert (card.contacts_90d, card.last_contact_at) == (1, NOW - timedelta(days=3))


@pytest.mark.parametrize("recent_first", [True, False])
async def test_given_two_owners_of_a_number_then_the_one_contacted_last_comes_first(
    store: Store, recent_first: bool
) -> None:
    async with store.session() as session, session.begin():
        for cid in ("c-a", "c-b"):
            session.add(Customer(id=cid, name=f"Owner {cid}"))
        await session.flush()
        for cid in ("c-a", "c-b"):
            session.add(Phone(customer_id=cid, raw="89165550000", e164="+79165550000"))
        latest, earlier = ("c-b", "c-a") if recent_first else ("c-a", "c-b")
        session.add(Contact(customer_id=latest, created_at=NOW - timedelta(days=1)))
        session.add(Contact(customer_id=earlier, created_at=NOW - timedelta(days=5)))
        session.add(Contact(customer_id=earlier, created_at=NOW - timedelta(days=6)))
    result = await Identifier(store, NumberRules("RU"), clock=lambda: NOW).identify("+7 916 555-00-00")
    assert [c.id for c in result.candidates] == [latest, earlier]
    assert [c.contacts_90d for c in result.candidates] == [1, 2]


async def test_given_reception_confirmed_an_owner_of_a_shared_number_then_that_owner_comes_first_as_a_guess(
    store: Store,
) -> None:
    number = "+79165550000"
    async with store.session() as session, session.begin():
        for cid in ("c-a", "c-b"):
            session.add(Customer(id=cid, name=f"Owner {cid}"))
        await session.flush()
        for cid in ("c-a", "c-b"):
            session.add(Phone(customer_id=cid, raw="89165550000", e164=number))
        # c-a was in touch last (a visit, not from this number); c-b was confirmed as this number's caller.
        session.add(Contact(customer_id="c-a", created_at=NOW - timedelta(days=1)))
        session.add(Contact(customer_id="c-b", caller_e164=number, created_at=NOW - timedelta(days=3)))
        # A later ring from the number that nobody confirmed: candidates only, it changes nothing.
        session.add(
            Contact(customer_id=None, candidate_ids=["c-a", "c-b"], caller_e164=number, created_at=NOW)
        )
    result = await Identifier(store, NumberRules("RU"), clock=lambda: NOW).identify("+7 916 555-00-00")
    assert [c.id for c in result.candidates] == ["c-b", "c-a"]
    assert result.identified and result.customer_guess, "the first of several owners is a guess"
    alone = await Identifier(store, NumberRules("RU"), clock=lambda: NOW).identify("89160000009")
    assert not alone.customer_guess


async def test_given_postgres_drops_our_connections_then_identification_never_raises_and_recovers(
    seeded: Store,
) -> None:
    if seeded.dialect != "postgresql":
        pytest.skip("PostgreSQL's server-side disconnect")
    import asyncpg  # noqa: PLC0415

    identifier = Identifier(seeded, NumberRules("RU"), clock=lambda: NOW)
    assert (await identifier.identify("89162215279")).identified
    database = seeded.engine.url.database
    admin = await asyncpg.connect(str(seeded.engine.url.set(drivername="postgresql", database="postgres")))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await admin.close()
    assert killed >= 1
    results = [await identifier.identify("89162215279") for _ in range(3)]
    assert all(r.identified or (r.reason or "").startswith("customer store unavailable") for r in results)
    assert results[-1].identified


@pytest.mark.parametrize("number", ["89162215279", "89990000000", "anonymous", "201"])
async def test_given_a_store_then_identify_now_answers_as_identify_does_or_defers(
    seeded: Store, number: str
) -> None:
    now_first = Identifier(seeded, NumberRules("RU"), clock=lambda: NOW).identify_now(number)
    awaited = await Identifier(seeded, NumberRules("RU"), clock=lambda: NOW).identify(number)
    if now_first is None:
        # Only a read that must be awaited defers: PostgreSQL, for a number worth looking up.
        assert seeded.dialect == "postgresql" and awaited.number.e164 is not None
    else:
        assert now_first == awaited
    if seeded.dialect == "sqlite" or awaited.number.e164 is None:
        assert now_first is not None


async def test_given_a_cached_card_then_identify_now_answers_from_it_on_either_store(seeded: Store) -> None:
    identifier = Identifier(seeded, NumberRules("RU"), clock=lambda: NOW, cache=IdentityCache(ttl_s=60))
    first = await identifier.identify("89162215279")
    again = identifier.identify_now("89162215279")
    assert again is not None and again.cached and again.candidates == first.candidates
