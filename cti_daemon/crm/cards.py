"""Customer cards: the screen pop's card for the owners of a number (the ring path, lean and fast), and
the full card behind `GET /api/v1/customers/{id}` (phones and recent contacts too).

The ring path reads with plain SQL: on SQLite through the store's sqlite3 read thread (a few indexed
statements in one hop), on PostgreSQL in one statement that builds the vehicles and documents as JSON.

A number several customers own (a family's, a company's) lists them all, the most likely caller first: the
customer reception last confirmed for a call from this number (the latest contact from it that names a
customer, not a guess), else the one with the latest contact. A shared number costs one more indexed
statement (contacts by caller number); a number with one owner costs nothing more.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from cti_daemon.crm.models import Contact, Customer, Document, Phone
from cti_daemon.crm.store import Store

_EPOCH = datetime.min.replace(tzinfo=UTC)
RECENT_DAYS = 90


@dataclass(frozen=True, slots=True)
class VehicleCard:
    id: str
    vin: str | None
    plate: str | None
    model: str | None
    year: int | None


@dataclass(frozen=True, slots=True)
class DocumentCard:
    id: str
    kind: str
    number: str
    status: str
    purpose: str | None
    opened_at: datetime | None


@dataclass(frozen=True, slots=True)
class CustomerCard:
    id: str
    name: str
    kind: str
    crm_status: dict[str, str]
    vehicles: list[VehicleCard]
    open_documents: list[DocumentCard]  # most recently opened first
    last_contact_at: datetime | None
    contacts_90d: int


@dataclass(frozen=True, slots=True)
class PhoneEntry:
    raw: str
    e164: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class ContactEntry:
    id: str
    type: str
    status: str
    purpose: str | None
    created_at: datetime
    responsible_employee_id: str | None


@dataclass(frozen=True, slots=True)
class CustomerDetail:
    """`GET /api/v1/customers/{id}`: the pop's card plus phones, tax id and the latest contacts."""

    card: CustomerCard
    tax_id: str | None
    phones: list[PhoneEntry]
    recent_contacts: list[ContactEntry] = field(default_factory=list)  # newest first


def aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; we store UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _crm(service: str | None, sales: str | None, parts: str | None) -> dict[str, str]:
    return {k: v for k, v in (("service", service), ("sales", sales), ("parts", parts)) if v}


def by_latest_contact(cards: list[CustomerCard], confirmed: str | None = None) -> list[CustomerCard]:
    """`confirmed`: the customer last confirmed as the caller from this number goes first."""
    return sorted(cards, key=lambda c: (c.id == confirmed, c.last_contact_at or _EPOCH, c.id), reverse=True)


# The customer named by the latest contact from a number: a ring's contact names one only when the number
# has one owner (a shared number's records candidates, a guess), so for a shared number it is the one
# reception confirmed (a PATCH, a registration). Searched through the caller_e164 index.
_SQLITE_CONFIRMED = (
    "SELECT customer_id FROM contacts WHERE caller_e164 = ? AND customer_id IS NOT NULL "
    "ORDER BY created_at DESC, id DESC LIMIT 1"
)
_PG_CONFIRMED = (
    "SELECT customer_id FROM contacts WHERE caller_e164 = $1 AND customer_id IS NOT NULL "
    "ORDER BY created_at DESC, id DESC LIMIT 1"
)


# --- the ring path ---------------------------------------------------------------------------------------
class CardReader:
    """Cards of every customer owning an E.164 number, latest contact first."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def for_number(self, e164: str, now: datetime) -> list[CustomerCard]:
        since = now - timedelta(days=RECENT_DAYS)
        if self._store.has_sqlite_reader:
            return await self._store.sqlite_read(lambda conn: _sqlite_cards(conn, e164, since))
        if self._store.dialect == "postgresql":
            rows = await self._store.pg_fetch(_PG_CARDS, e164, since)
            confirmed = None
            if len(rows) > 1:
                found = await self._store.pg_fetch(_PG_CONFIRMED, e164)
                confirmed = found[0]["customer_id"] if found else None
            return by_latest_contact([_pg_card(r) for r in rows], confirmed)
        return await _orm_cards(self._store, e164, since)

    def for_number_now(self, e164: str, now: datetime) -> list[CustomerCard] | None:
        """The same cards when they can be read without waiting (SQLite, inline); else None."""
        since = now - timedelta(days=RECENT_DAYS)
        done = self._store.sqlite_read_now(lambda conn: _sqlite_cards(conn, e164, since))
        return None if done is None else done[0]


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime text form, so comparisons with stored values are string comparisons.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_cards(conn: sqlite3.Connection, e164: str, since: datetime) -> list[CustomerCard]:
    """The owners' cards, the most likely caller first."""
    owners = conn.execute(
        "SELECT DISTINCT c.id, c.name, c.kind, c.crm_service, c.crm_sales, c.crm_parts "
        "FROM phones p JOIN customers c ON c.id = p.customer_id WHERE p.e164 = ?",
        (e164,),
    ).fetchall()
    if not owners:
        return []
    ids = [row[0] for row in owners]
    marks = ",".join("?" * len(ids))
    vehicles: dict[str, list[VehicleCard]] = {i: [] for i in ids}
    for cid, *v in conn.execute(
        f"SELECT customer_id, id, vin, plate, model, year FROM vehicles "  # noqa: S608 - only '?' marks
        f"WHERE customer_id IN ({marks}) ORDER BY id",
        ids,
    ):
        vehicles[cid].append(VehicleCard(*v))
    docs: dict[str, list[DocumentCard]] = {i: [] for i in ids}
    for cid, did, kind, number, status, purpose, opened in conn.execute(
        f"SELECT customer_id, id, kind, number, status, purpose, opened_at FROM documents "  # noqa: S608
        f"WHERE customer_id IN ({marks}) AND status = 'open' ORDER BY opened_at DESC, id DESC",
        ids,
    ):
        docs[cid].append(DocumentCard(did, kind, number, status, purpose, _sqlite_parse(opened)))
    history = {
        cid: (last, recent)
        for cid, last, recent in conn.execute(
            f"SELECT customer_id, MAX(created_at), SUM(created_at >= ?) FROM contacts "  # noqa: S608
            f"WHERE customer_id IN ({marks}) GROUP BY customer_id",
            [_sqlite_time(since), *ids],
        )
    }
    cards = []
    for cid, name, kind, service, sales, parts in owners:
        last, recent = history.get(cid, (None, 0))
        cards.append(
            CustomerCard(
                cid,
                name,
                kind,
                _crm(service, sales, parts),
                vehicles[cid],
                docs[cid],
                _sqlite_parse(last),
                int(recent or 0),
            )
        )
    confirmed = None
    if len(cards) > 1:
        row = conn.execute(_SQLITE_CONFIRMED, (e164,)).fetchone()
        confirmed = row[0] if row else None
    return by_latest_contact(cards, confirmed)


_PG_CARDS = """
    SELECT c.id, c.name, c.kind, c.crm_service, c.crm_sales, c.crm_parts,
      (SELECT json_agg(json_build_array(v.id, v.vin, v.plate, v.model, v.year) ORDER BY v.id)
         FROM vehicles v WHERE v.customer_id = c.id) AS vehicles,
      (SELECT json_agg(json_build_array(d.id, d.kind, d.number, d.status, d.purpose, d.opened_at)
                       ORDER BY d.opened_at DESC NULLS LAST, d.id DESC)
         FROM documents d WHERE d.customer_id = c.id AND d.status = 'open') AS docs,
      h.last, h.recent
    FROM customers c
    LEFT JOIN LATERAL (
      SELECT max(k.created_at) AS last, count(*) FILTER (WHERE k.created_at >= $2) AS recent
      FROM contacts k WHERE k.customer_id = c.id
    ) h ON true
    WHERE c.id IN (SELECT p.customer_id FROM phones p WHERE p.e164 = $1)
"""


def _pg_card(row: Any) -> CustomerCard:
    # SQLAlchemy's asyncpg dialect registers a JSON codec on its connections; a bare one returns text.
    vehicles, docs = (
        (json.loads(v) if isinstance(v, str) else v) or [] for v in (row["vehicles"], row["docs"])
    )
    return CustomerCard(
        row["id"],
        row["name"],
        row["kind"],
        _crm(row["crm_service"], row["crm_sales"], row["crm_parts"]),
        [VehicleCard(*v) for v in vehicles],
        [
            DocumentCard(d[0], d[1], d[2], d[3], d[4], datetime.fromisoformat(d[5]) if d[5] else None)
            for d in docs
        ],
        aware(row["last"]),
        int(row["recent"] or 0),
    )


async def _orm_cards(store: Store, e164: str, since: datetime) -> list[CustomerCard]:
    """Any other backend (an in-memory SQLite): the same card through the ORM."""
    ids = select(Phone.customer_id).where(Phone.e164 == e164)
    async with store.session() as session:
        customers = (
            await session.scalars(
                select(Customer)
                .where(Customer.id.in_(ids))
                .options(
                    selectinload(Customer.vehicles),
                    selectinload(Customer.documents.and_(Document.status == "open")),
                )
            )
        ).all()
        contacts = (
            await session.execute(
                select(Contact.customer_id, Contact.created_at).where(
                    Contact.customer_id.in_([c.id for c in customers])
                )
            )
        ).all()
    cards = []
    for c in customers:
        times = [aware(t) for cid, t in contacts if cid == c.id]
        docs = sorted(c.documents, key=lambda d: (aware(d.opened_at) or _EPOCH, d.id), reverse=True)
        cards.append(
            CustomerCard(
                c.id,
                c.name,
                c.kind,
                _crm(c.crm_service, c.crm_sales, c.crm_parts),
                [
                    VehicleCard(v.id, v.vin, v.plate, v.model, v.year)
                    for v in sorted(c.vehicles, key=lambda v: v.id)
                ],
                [DocumentCard(d.id, d.kind, d.number, d.status, d.purpose, aware(d.opened_at)) for d in docs],
                max((t for t in times if t), default=None),
                sum(1 for t in times if t and t >= since),
            )
        )
    confirmed = None
    if len(cards) > 1:
        async with store.session() as session:
            confirmed = await session.scalar(
                select(Contact.customer_id)
                .where(Contact.caller_e164 == e164, Contact.customer_id.is_not(None))
                .order_by(Contact.created_at.desc(), Contact.id.desc())
                .limit(1)
            )
    return by_latest_contact(cards, confirmed)


# --- the full card ---------------------------------------------------------------------------------------
class CustomerCards:
    """`card(customer_id)` for the HTTP API's `GET /api/v1/customers/{id}`."""

    def __init__(self, store: Store, *, recent_contacts: int = 20) -> None:
        self._store = store
        self._recent = recent_contacts

    async def card(self, customer_id: str, *, now: datetime | None = None) -> CustomerDetail | None:
        since = (now or datetime.now(UTC)) - timedelta(days=RECENT_DAYS)
        async with self._store.session() as session:
            customer = await session.scalar(
                select(Customer)
                .where(Customer.id == customer_id)
                .options(
                    selectinload(Customer.phones),
                    selectinload(Customer.vehicles),
                    selectinload(Customer.documents.and_(Document.status == "open")),
                )
            )
            if customer is None:
                return None
            last, recent = (
                await session.execute(
                    select(
                        func.max(Contact.created_at),
                        func.count(Contact.id).filter(Contact.created_at >= since),
                    ).where(Contact.customer_id == customer_id)
                )
            ).one()
            contacts = (
                await session.scalars(
                    select(Contact)
                    .where(Contact.customer_id == customer_id)
                    .order_by(Contact.created_at.desc(), Contact.id.desc())
                    .limit(self._recent)
                )
            ).all()
        docs = sorted(customer.documents, key=lambda d: (aware(d.opened_at) or _EPOCH, d.id), reverse=True)
        card = CustomerCard(
            customer.id,
            customer.name,
            customer.kind,
            _crm(customer.crm_service, customer.crm_sales, customer.crm_parts),
            [
                VehicleCard(v.id, v.vin, v.plate, v.model, v.year)
                for v in sorted(customer.vehicles, key=lambda v: v.id)
            ],
            [DocumentCard(d.id, d.kind, d.number, d.status, d.purpose, aware(d.opened_at)) for d in docs],
            aware(last),
            int(recent or 0),
        )
        return CustomerDetail(
            card=card,
            tax_id=customer.tax_id,
            phones=[PhoneEntry(p.raw, p.e164, p.kind) for p in sorted(customer.phones, key=lambda p: p.id)],
            recent_contacts=[
                ContactEntry(
                    k.id,
                    k.type,
                    k.status,
                    k.purpose,
                    aware(k.created_at) or _EPOCH,
                    k.responsible_employee_id,
                )
                for k in contacts
            ],
        )
