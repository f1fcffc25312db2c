"""The contact journal's persistence: contacts, their append-only notes and their history, as plain
records. Inserts are idempotent by id (the spool may replay a write that already landed); updates carry
the version they were based on (optimistic lock), so two receptionists never overwrite each other."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from cti_daemon.crm.models import Contact, ContactEvent, ContactNote, Employee
from cti_daemon.crm.store import Store

OPEN = ("registered", "assigned", "in_progress", "postponed")


@dataclass(frozen=True, slots=True)
class NoteRecord:
    id: str
    author: str
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    at: datetime
    actor: str | None
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContactRecord:
    id: str
    type: str
    status: str
    created_at: datetime
    created_by: str | None
    purpose: str | None = None
    sub_purpose: str | None = None
    purpose_auto: bool = False
    purpose_group: str | None = None
    customer_id: str | None = None
    candidate_ids: tuple[str, ...] = ()
    caller_name: str | None = None
    caller_phone: str | None = None
    caller_e164: str | None = None
    caller_note: str | None = None
    tax_id: str | None = None
    vehicle_id: str | None = None
    document_number: str | None = None
    responsible_employee_id: str | None = None
    description: str | None = None
    call_id: str | None = None
    node_id: str | None = None
    finalized_at: datetime | None = None
    finalized_by: str | None = None
    postponed_until: datetime | None = None
    postponed_reason: str | None = None
    postponed_to: str | None = None
    missed_reason: str | None = None
    queued_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    # The call's facts from the PBX (issue 14): see crm/models.py Contact.
    direction: str = "inbound"
    outcome: str | None = None
    rang_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    answered_by: str | None = None
    answer_s: int | None = None
    talk_s: int | None = None
    wait_s: int | None = None
    answers_contact_id: str | None = None
    callback_at: datetime | None = None
    callback_kind: str | None = None
    callback_contact_id: str | None = None
    callback_s: int | None = None
    notes: tuple[NoteRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()


# Columns a change may touch; the rest (id, stamps of creation) are written once at insert.
_COLUMNS = [f.name for f in dataclasses.fields(ContactRecord) if f.name not in ("notes", "events")]
_MUTABLE = frozenset(_COLUMNS) - {"id", "created_at", "created_by", "version", "node_id", "call_id", "type"}


class ContactNotFoundError(LookupError):
    pass


class ContactChangedError(Exception):
    """Someone else changed the contact since it was read (the optimistic lock)."""


class ContactReferenceError(ValueError):
    """The contact names a customer, vehicle or employee the store does not have."""


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    purpose: str | None = None
    employee: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    call_id: str | None = None
    customer: str | None = None  # the customer's id (the console's journal filter)
    queued: bool | None = None
    node_id: str | None = None
    # An employee's view (routing/visibility.py): theirs, postponed to them, or waiting for their purposes.
    theirs: str | None = None
    their_purposes: tuple[str, ...] = ()
    limit: int = 50
    offset: int = 0


def _length(column: Any) -> int:
    length = column.type.length
    assert isinstance(length, int)
    return length


# What the contacts table holds of a caller (PostgreSQL refuses longer; SQLite would keep it).
CALLER_NAME_MAX = _length(Contact.__table__.c.caller_name)
CALLER_PHONE_MAX = _length(Contact.__table__.c.caller_phone)


def query_statement(filters: Filters) -> Select[Contact]:
    """The journal's listing as one statement, newest first."""
    stmt = select(Contact)
    if filters.status == "open":
        stmt = stmt.where(Contact.status.in_(OPEN))
    elif filters.status is not None:
        stmt = stmt.where(Contact.status == filters.status)
    if filters.purpose is not None:
        stmt = stmt.where(Contact.purpose == filters.purpose)
    if filters.employee is not None:
        stmt = stmt.where(
            or_(Contact.responsible_employee_id == filters.employee, Contact.postponed_to == filters.employee)
        )
    if filters.created_from is not None:
        stmt = stmt.where(Contact.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(Contact.created_at < filters.created_to)
    if filters.call_id is not None:
        stmt = stmt.where(Contact.call_id == filters.call_id)
    if filters.customer is not None:
        stmt = stmt.where(Contact.customer_id == filters.customer)
    if filters.queued is not None:
        stmt = stmt.where(Contact.queued_at.is_not(None) if filters.queued else Contact.queued_at.is_(None))
    if filters.node_id is not None:
        stmt = stmt.where(Contact.node_id == filters.node_id)
    if filters.theirs is not None:
        stmt = stmt.where(_theirs(filters.theirs, filters.their_purposes))
    # The waiting queue lists queued contacts by when they joined it. Ordered by created_at, the planner
    # walked the created_at index through the whole journal (a full scan every few seconds, 0.4 s on a
    # million contacts) instead of searching the queued_at index.
    order = Contact.queued_at if filters.queued else Contact.created_at
    return stmt.order_by(order.desc(), Contact.id.desc()).limit(filters.limit).offset(filters.offset)


def _theirs(employee_id: str, purposes: tuple[str, ...]) -> Any:
    """The SQL form of routing.visibility.contact_is_theirs."""
    return or_(
        Contact.responsible_employee_id == employee_id,
        Contact.postponed_to == employee_id,
        Contact.purpose_group.in_(purposes),
        and_(
            Contact.purpose_group.is_(None),
            Contact.responsible_employee_id.is_(None),
            Contact.purpose.in_(purposes),
        ),
    )


class JournalStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def insert(self, record: ContactRecord) -> bool:
        """Write a new contact with its first notes and events. False when it is already there."""
        try:
            async with self._store.session() as session, session.begin():
                if await session.get(Contact, record.id) is not None:
                    return False
                session.add(Contact(**{c: _db_value(c, getattr(record, c)) for c in _COLUMNS}))
                await session.flush()
                session.add_all(_note_row(record.id, n) for n in record.notes)
                session.add_all(_event_row(record.id, e) for e in record.events)
        except IntegrityError as exc:
            raise ContactReferenceError(_integrity_reason(exc)) from None
        return True

    async def insert_many(self, records: Sequence[ContactRecord]) -> None:
        """`insert` for several contacts in one transaction (those already there are left alone): the ring
        path's contacts, written together under load rather than one transaction each."""
        try:
            async with self._store.session() as session, session.begin():
                ids = [r.id for r in records]
                there = set((await session.scalars(select(Contact.id).where(Contact.id.in_(ids)))).all())
                new = [r for r in records if r.id not in there]
                session.add_all(Contact(**{c: _db_value(c, getattr(r, c)) for c in _COLUMNS}) for r in new)
                await session.flush()
                session.add_all(_note_row(r.id, n) for r in new for n in r.notes)
                session.add_all(_event_row(r.id, e) for r in new for e in r.events)
        except IntegrityError as exc:
            raise ContactReferenceError(_integrity_reason(exc)) from None

    async def get(self, contact_id: str) -> ContactRecord | None:
        async with self._store.session() as session:
            row = await session.get(Contact, contact_id)
            if row is None:
                return None
            notes, events = await self._children(session, [contact_id])
        return _record(row, notes.get(contact_id, []), events.get(contact_id, []))

    async def get_many(self, contact_ids: Sequence[str]) -> dict[str, ContactRecord]:
        """Several contacts in one read (those not found are left out)."""
        async with self._store.session() as session:
            rows = (await session.scalars(select(Contact).where(Contact.id.in_(list(contact_ids))))).all()
            notes, events = await self._children(session, [r.id for r in rows])
        return {r.id: _record(r, notes.get(r.id, []), events.get(r.id, [])) for r in rows}

    async def update(
        self, contact_id: str, changes: dict[str, Any], *, expected_version: int, event: EventRecord
    ) -> ContactRecord:
        """Apply changes if nobody changed the contact since `expected_version`; record the event."""
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise ValueError(f"not changeable: {', '.join(sorted(unknown))}")
        try:
            async with self._store.session() as session, session.begin():
                row = await session.get(Contact, contact_id)
                if row is None:
                    raise ContactNotFoundError(contact_id)
                if row.version != expected_version:
                    raise ContactChangedError(contact_id)
                for key, value in changes.items():
                    setattr(row, key, _db_value(key, value))
                session.add(_event_row(contact_id, event))
        except StaleDataError:
            raise ContactChangedError(contact_id) from None
        except IntegrityError as exc:
            raise ContactReferenceError(_integrity_reason(exc)) from None
        found = await self.get(contact_id)
        if found is None:
            raise ContactNotFoundError(contact_id)
        return found

    async def add_event(self, contact_id: str, event: EventRecord) -> None:
        """Record something that happened to a contact without changing it (a transfer under way)."""
        async with self._store.session() as session, session.begin():
            if await session.get(Contact, contact_id) is None:
                raise ContactNotFoundError(contact_id)
            session.add(_event_row(contact_id, event))

    async def add_note(self, contact_id: str, note: NoteRecord) -> bool:
        """Append a note (idempotent by the note's id). False when the note is already there."""
        async with self._store.session() as session, session.begin():
            if await session.get(Contact, contact_id) is None:
                raise ContactNotFoundError(contact_id)
            if await session.get(ContactNote, note.id) is not None:
                return False
            session.add(_note_row(contact_id, note))
        return True

    async def query(self, filters: Filters) -> list[ContactRecord]:
        stmt = query_statement(filters)
        async with self._store.session() as session:
            rows = (await session.scalars(stmt)).all()
            notes, events = await self._children(session, [r.id for r in rows])
        return [_record(r, notes.get(r.id, []), events.get(r.id, [])) for r in rows]

    async def load_by_employee(self) -> dict[str, tuple[int, int]]:
        """Per employee: (open contacts they are responsible for, contacts they finalized)."""
        async with self._store.session() as session:
            open_rows = await session.execute(
                select(Contact.responsible_employee_id, func.count())
                .where(Contact.status.in_(OPEN), Contact.responsible_employee_id.is_not(None))
                .group_by(Contact.responsible_employee_id)
            )
            done_rows = await session.execute(
                select(Contact.responsible_employee_id, func.count())
                .where(Contact.status == "finalized", Contact.responsible_employee_id.is_not(None))
                .group_by(Contact.responsible_employee_id)
            )
            staff = (await session.scalars(select(Employee.id))).all()
        opened = {k: int(v) for k, v in open_rows.all() if k}
        handled = {k: int(v) for k, v in done_rows.all() if k}
        return {e: (opened.get(e, 0), handled.get(e, 0)) for e in staff}

    async def _children(
        self, session: Any, ids: Sequence[str]
    ) -> tuple[dict[str, list[ContactNote]], dict[str, list[ContactEvent]]]:
        if not ids:
            return {}, {}
        notes: dict[str, list[ContactNote]] = {}
        events: dict[str, list[ContactEvent]] = {}
        for n in (
            await session.scalars(
                select(ContactNote)
                .where(ContactNote.contact_id.in_(ids))
                .order_by(ContactNote.at, ContactNote.id)
            )
        ).all():
            notes.setdefault(n.contact_id, []).append(n)
        for e in (
            await session.scalars(
                select(ContactEvent)
                .where(ContactEvent.contact_id.in_(ids))
                .order_by(ContactEvent.at, ContactEvent.id)
            )
        ).all():
            events.setdefault(e.contact_id, []).append(e)
        return notes, events


def _db_value(column: str, value: Any) -> Any:
    return list(value) if column == "candidate_ids" else value


def _note_row(contact_id: str, n: NoteRecord) -> ContactNote:
    return ContactNote(id=n.id, contact_id=contact_id, author=n.author, at=n.at, text=n.text)


def _event_row(contact_id: str, e: EventRecord) -> ContactEvent:
    return ContactEvent(
        id=e.id, contact_id=contact_id, at=e.at, actor=e.actor, kind=e.kind, data=dict(e.data)
    )


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; everything is stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _record(row: Contact, notes: list[ContactNote], events: list[ContactEvent]) -> ContactRecord:
    values: dict[str, Any] = {}
    for column in _COLUMNS:
        value = getattr(row, column)
        if isinstance(value, datetime) or column.endswith(("_at", "_until")):
            value = _aware(value)
        values[column] = value
    values["candidate_ids"] = tuple(row.candidate_ids or ())
    return ContactRecord(
        **values,
        notes=tuple(NoteRecord(n.id, n.author, _aware(n.at) or n.at, n.text) for n in notes),
        events=tuple(
            EventRecord(e.id, _aware(e.at) or e.at, e.actor, e.kind, dict(e.data or {})) for e in events
        ),
    )


def _integrity_reason(exc: IntegrityError) -> str:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    for what in ("customer", "vehicle", "employee"):
        if what in text:
            return f"unknown {what}"
    return "a customer, vehicle or employee it names does not exist"
