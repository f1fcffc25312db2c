"""Who is calling: a caller id in, the customer card(s) of the screen pop out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from cti_daemon.crm.models import Contact, Customer, Document, Phone
from cti_daemon.crm.numbers import NumberInfo, NumberRules
from cti_daemon.crm.store import Store, StoreUnavailableError

Clock = Callable[[], datetime]


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
    open_documents: list[DocumentCard]
    last_contact_at: datetime | None
    contacts_90d: int


@dataclass(frozen=True, slots=True)
class Identification:
    number: NumberInfo
    candidates: list[CustomerCard] = field(default_factory=list)  # latest contact first
    reason: str | None = None  # why nobody was identified

    @property
    def identified(self) -> bool:
        return bool(self.candidates)

    @property
    def customer(self) -> CustomerCard | None:
        return self.candidates[0] if self.candidates else None


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Identifier:
    def __init__(self, store: Store, rules: NumberRules, *, clock: Clock = _utcnow) -> None:
        self._store = store
        self._rules = rules
        self._clock = clock

    async def identify(self, raw: str | None) -> Identification:
        """Never raises for bad input; a store outage gives an unidentified result with the reason."""
        info = self._rules.classify(raw)
        if info.e164 is None:
            return Identification(info, reason=info.reason)
        try:
            cards = await self._cards_for(info.e164)
        except StoreUnavailableError as exc:
            return Identification(info, reason=f"customer store unavailable ({exc})")
        if not cards:
            return Identification(info, reason="number not in the customer store")
        return Identification(info, cards)

    async def _cards_for(self, e164: str) -> list[CustomerCard]:
        now = self._clock()
        async with self._store.session() as session:
            customers = (
                await session.scalars(
                    select(Customer)
                    .join(Phone, Phone.customer_id == Customer.id)
                    .where(Phone.e164 == e164)
                    .options(
                        selectinload(Customer.vehicles),
                        selectinload(Customer.documents.and_(Document.status == "open")),
                    )
                    .distinct()
                )
            ).all()
            if not customers:
                return []
            since = now - timedelta(days=90)
            history = {
                row.customer_id: (row.last, row.recent)
                for row in await session.execute(
                    select(
                        Contact.customer_id,
                        func.max(Contact.created_at).label("last"),
                        func.sum(case((Contact.created_at >= since, 1), else_=0)).label("recent"),
                    )
                    .where(and_(Contact.customer_id.in_([c.id for c in customers])))
                    .group_by(Contact.customer_id)
                )
            }
        cards = [_card(c, *history.get(c.id, (None, 0))) for c in customers]
        cards.sort(key=lambda c: (c.last_contact_at or _EPOCH, c.id), reverse=True)
        return cards


def _card(c: Customer, last: datetime | None, recent: int | None) -> CustomerCard:
    crm = {k: v for k, v in (("service", c.crm_service), ("sales", c.crm_sales), ("parts", c.crm_parts)) if v}
    # Most recently opened first: the likeliest reason for the call, and the one the auto purpose uses.
    docs = sorted(c.documents, key=lambda d: (_aware(d.opened_at) or _EPOCH, d.id), reverse=True)
    return CustomerCard(
        id=c.id,
        name=c.name,
        kind=c.kind,
        crm_status=crm,
        vehicles=[VehicleCard(v.id, v.vin, v.plate, v.model, v.year) for v in c.vehicles],
        open_documents=[
            DocumentCard(d.id, d.kind, d.number, d.status, d.purpose, _aware(d.opened_at)) for d in docs
        ],
        last_contact_at=_aware(last),
        contacts_90d=int(recent or 0),
    )


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; we store UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
