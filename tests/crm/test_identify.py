"""Caller identification against a seeded store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from cti_daemon.crm.identify import Identifier
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
