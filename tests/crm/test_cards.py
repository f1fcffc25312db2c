"""Customer cards: the ring path's lean reads agree with the ORM, and the full card of the HTTP API."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from cti_daemon.crm.cards import CardReader, CustomerCard, CustomerCards
from cti_daemon.crm.models import Contact, Customer, Phone
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import Store, open_store

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _comparable(card: CustomerCard) -> CustomerCard:
    # Vehicle ids are fresh UUIDs in each seeded store (and order the vehicles); everything else must match.
    vehicles = sorted((dataclasses.replace(v, id="") for v in card.vehicles), key=lambda v: v.vin or "")
    return dataclasses.replace(card, vehicles=vehicles)


async def test_given_the_same_data_then_the_lean_read_gives_the_cards_the_orm_gives(store: Store) -> None:
    summary = await seed_demo(store, now=NOW)
    orm_store = open_store("sqlite+aiosqlite://")  # in memory: no file for a read thread, so the ORM path
    try:
        await orm_store.create_schema()
        await seed_demo(orm_store, now=NOW)
        assert not orm_store.has_sqlite_reader
        lean, orm = CardReader(store), CardReader(orm_store)
        rules_e164 = [f"+7{n[1:]}" for n in summary.known_numbers[:15]] + [
            f"+7{n[1:]}" for n in summary.shared_numbers
        ]
        compared = 0
        for e164 in rules_e164:
            fast = [_comparable(c) for c in await lean.for_number(e164, NOW)]
            slow = [_comparable(c) for c in await orm.for_number(e164, NOW)]
            assert fast == slow and fast
            compared += len(fast)
        assert compared >= 15 + 2 * len(summary.shared_numbers)
    finally:
        await orm_store.dispose()


async def test_given_a_customer_id_then_the_full_card_has_phones_and_latest_contacts(store: Store) -> None:
    async with store.session() as session, session.begin():
        session.add(Customer(id="c-1", name="Ivan Petrov", tax_id="7701234567", crm_sales="lead"))
        await session.flush()
        session.add(Phone(customer_id="c-1", raw="8 916 123-45-67", e164="+79161234567"))
        session.add(Phone(customer_id="c-1", raw="+7 495 111-22-33", e164="+74951112233", kind="work"))
        for days in (200, 30, 1):
            session.add(Contact(customer_id="c-1", purpose="service", created_at=NOW - timedelta(days=days)))
    cards = CustomerCards(store, recent_contacts=2)
    detail = await cards.card("c-1", now=NOW)
    assert detail is not None
    assert [(p.raw, p.e164, p.kind) for p in detail.phones] == [
        ("8 916 123-45-67", "+79161234567", "mobile"),
        ("+7 495 111-22-33", "+74951112233", "work"),
    ]
    assert [c.created_at for c in detail.recent_contacts] == [
        NOW - timedelta(days=1),
        NOW - timedelta(days=30),
    ]
    assert (detail.card.contacts_90d, detail.card.last_contact_at) == (2, NOW - timedelta(days=1))
    assert detail.tax_id == "7701234567" and detail.card.crm_status == {"sales": "lead"}
    assert await cards.card("c-unknown") is None
