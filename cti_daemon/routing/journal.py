"""The contact journal's use cases (seeds 001, 003, 004): register traffic, complete it, give it to
someone, note, postpone, finalize, mark missed. Each change is checked by journal_rules, stored with
who did it and when, announced on `cti/traffic/{id}`, and notified to whoever must act."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cti_daemon import logs
from cti_daemon.crm.cards import CustomerCards
from cti_daemon.crm.journal_store import (
    ContactChangedError,
    ContactNotFoundError,
    ContactRecord,
    ContactReferenceError,
    EventRecord,
    Filters,
    NoteRecord,
)
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.purposes import PurposeCatalog
from cti_daemon.crm.spool import SpoolWriteError
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.ids import uuid7
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing import notify_rules
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.journal_errors import (
    ContactConflict,
    ContactMissing,
    InvalidContact,
    JournalUnavailable,
)
from cti_daemon.routing.journal_guards import JournalGuards, field_problems
from cti_daemon.routing.journal_rules import (
    ContactStatus,
    FieldProblem,
    OpenDocument,
    Registration,
    TransitionError,
    check_transition,
    choose_purpose,
    initial_status,
    until_problem,
    validate,
)
from cti_daemon.routing.journal_writer import JournalWriter
from cti_daemon.routing.ring_contacts import RingContacts

log = logs.get("cti.routing.journal")

# The store was away and the spool could not keep the write either (its disk full): refused, never 202.
_NOT_KEPT = "the journal's store is unavailable and the spool could not keep the write ({}); nothing was kept"


@dataclass(frozen=True, slots=True)
class Saved:
    record: ContactRecord
    durable: bool  # False: accepted into the spool, written once the store is back (HTTP 202)
    created: bool = True


@dataclass(frozen=True, slots=True)
class Change:
    """A PATCH: only the keys given are changed (None clears a field)."""

    values: dict[str, Any]
    status: ContactStatus | None = None
    version: int | None = None
    override: bool = False  # an admin gives it outside the purpose's group (journal_guards)


# (call_id, employee_id, actor, confirm: put through to a busy or away employee anyway)
TransferStarter = Callable[[str, str, str, bool], Awaitable[dict[str, Any]]]


class JournalService:
    def __init__(
        self,
        *,
        writer: JournalWriter,
        ring: RingContacts,
        catalog: Callable[[], PurposeCatalog],
        cards: CustomerCards,
        rules: NumberRules,
        out: AgentPort,
        clock: Callable[[], datetime],
        node_id: str,
        reception_staff: Callable[[], list[str]],
    ) -> None:
        self._writer = writer
        self._journal = writer.journal
        self._ring = ring
        self._catalog = catalog
        self._cards = cards
        self._rules = rules
        self._out = out
        self._clock = clock
        self._node = node_id
        self._reception_staff = reception_staff
        self._guards = JournalGuards(catalog=catalog, cards=cards)
        self.transfer: TransferStarter | None = None  # set by the composition root when transfers exist

    # --- reading -------------------------------------------------------------------------------------
    async def settle(self, contact_id: str) -> None:
        await self._writer.settle(contact_id)

    async def get(self, contact_id: str) -> ContactRecord:
        await self._writer.settle(contact_id)
        try:
            record = await self._journal.get(contact_id)
        except StoreUnavailableError as exc:
            raise JournalUnavailable(f"the journal's store is unavailable ({exc})") from None
        if record is None:
            raise ContactMissing(f"no contact {contact_id}", field="contact_id")
        return record

    async def query(self, filters: Filters) -> list[ContactRecord]:
        try:
            return await self._journal.query(filters)
        except StoreUnavailableError as exc:
            raise JournalUnavailable(f"the journal's store is unavailable ({exc})") from None

    # --- registering ---------------------------------------------------------------------------------
    async def register(self, reg: Registration, actor: str) -> Saved:
        catalog = self._catalog()
        existing = self._ring.for_call(reg.call_id) if reg.call_id else None
        # Completing the contact a ring registered: what the ring knew (the number) counts as given.
        checked = (
            reg
            if existing is None
            else replace(
                reg,
                caller_phone=reg.caller_phone or existing.caller_phone,
                customer_id=reg.customer_id or existing.customer_id,
            )
        )
        problems = validate(checked, catalog.levels(), catalog.employees)
        if problems:
            raise InvalidContact(problems)
        if existing is not None:
            return await self._complete(existing, reg, actor)
        docs = await self._open_documents(reg)
        choice = choose_purpose(reg, docs)
        now = self._clock()
        record = ContactRecord(
            id=uuid7(),
            type=reg.type.value,
            status=initial_status(reg).value,
            created_at=now,
            created_by=actor,
            purpose=choice.code,
            sub_purpose=choice.sub,
            purpose_auto=choice.auto,
            purpose_group=None if reg.responsible_employee_id else choice.code,
            customer_id=reg.customer_id,
            caller_name=reg.caller_name,
            caller_phone=reg.caller_phone,
            caller_e164=self._rules.e164(reg.caller_phone) if reg.caller_phone else None,
            caller_note=reg.caller_note,
            tax_id=reg.tax_id,
            vehicle_id=reg.vehicle_id,
            document_number=reg.document_number,
            responsible_employee_id=reg.responsible_employee_id,
            description=reg.description,
            call_id=reg.call_id,
            node_id=self._node,
            queued_at=now if reg.queued else None,
        )
        extra = await self._guards.check(None, record, override=reg.override)
        data = {"via": "http", "transfer": reg.transfer, **extra}
        record = replace(record, events=(EventRecord(uuid7(), now, actor, "registered", data),))
        try:
            durable = await self._writer.create(record)
        except ContactReferenceError as exc:
            raise InvalidContact([FieldProblem("customer_id", str(exc))]) from None
        except SpoolWriteError as exc:
            raise JournalUnavailable(_NOT_KEPT.format(exc)) from None
        self._ring.adopt(record)
        self._announce(record, durable=durable)
        await self._notify_assignment(record)
        log.info(
            "journal.registered",
            contact_id=record.id,
            actor=actor,
            status=record.status,
            spooled=not durable,
            call_id=record.call_id,
        )
        return Saved(record, durable)

    async def _complete(self, existing: ContactRecord, reg: Registration, actor: str) -> Saved:
        """Reception fills in the contact the ring registered (one call, one contact)."""
        values: dict[str, Any] = {
            k: v
            for k, v in {
                "type": reg.type.value,
                "purpose": reg.purpose,
                "sub_purpose": reg.sub_purpose,
                "customer_id": reg.customer_id,
                "caller_name": reg.caller_name,
                "caller_phone": reg.caller_phone,
                "caller_note": reg.caller_note,
                "tax_id": reg.tax_id,
                "vehicle_id": reg.vehicle_id,
                "document_number": reg.document_number,
                "description": reg.description,
                "responsible_employee_id": reg.responsible_employee_id,
            }.items()
            if v is not None
        }
        if reg.purpose is not None:
            values["purpose_auto"] = False
        values.pop("type", None)  # a ring made it a call; the type of a contact is set once
        status = ContactStatus.ASSIGNED if reg.responsible_employee_id else None
        change = Change(values, status, override=reg.override)
        record = await self.change(existing.id, change, actor, kind="completed")
        return Saved(record, durable=True, created=False)

    async def _open_documents(self, reg: Registration) -> list[OpenDocument]:
        if reg.purpose is not None or not reg.customer_id:
            return []
        try:
            card = await self._cards.card(reg.customer_id)
        except StoreUnavailableError:
            return []  # no auto purpose while the store is away; reception can set one later
        if card is None:
            raise InvalidContact([FieldProblem("customer_id", f"no customer {reg.customer_id}")])
        return [OpenDocument(d.kind, d.purpose) for d in card.card.open_documents]

    # --- changing ------------------------------------------------------------------------------------
    async def change(
        self, contact_id: str, change: Change, actor: str, *, kind: str = "updated"
    ) -> ContactRecord:
        current = await self.get(contact_id)
        if change.version is not None and change.version != current.version:
            raise ContactConflict(
                f"contact {contact_id} changed since version {change.version} "
                f"(now {current.version}); read it again",
                field="version",
            )
        values = dict(change.values)
        target = change.status
        if (
            "responsible_employee_id" in values
            and values["responsible_employee_id"] != current.responsible_employee_id
        ):
            target = target or ContactStatus.ASSIGNED
            if values["responsible_employee_id"]:
                values["purpose_group"] = None
            kind = "assigned" if kind == "updated" else kind
        if (
            "purpose_group" in values
            and values["purpose_group"]
            and values["purpose_group"] != current.purpose_group
        ):
            values.setdefault("responsible_employee_id", None)
            target = target or ContactStatus.ASSIGNED
            kind = "reassigned_to_group" if kind == "updated" else kind
        if "purpose" in values and "purpose_auto" not in values:
            values["purpose_auto"] = False
        if target is not None:
            self._check(current, target)
            values["status"] = target.value
            if current.queued_at is not None:
                values["queued_at"] = None  # a waiting visitor leaves the queue once somebody takes them
        merged = replace(current, **values)
        self._check_fields(merged)
        extra = await self._guards.check(current, merged, override=change.override)
        return await self._save(current, values, actor, kind, extra)

    async def note(self, contact_id: str, text: str, actor: str) -> tuple[NoteRecord, bool]:
        note = NoteRecord(uuid7(), actor, self._clock(), text)
        await self._writer.settle(contact_id)
        try:
            durable = await self._writer.note(contact_id, note)
        except ContactNotFoundError:
            raise ContactMissing(f"no contact {contact_id}", field="contact_id") from None
        except StoreUnavailableError as exc:
            raise JournalUnavailable(f"the journal's store is unavailable ({exc})") from None
        except SpoolWriteError as exc:
            raise JournalUnavailable(_NOT_KEPT.format(exc)) from None
        if durable:
            record = await self.get(contact_id)
            self._ring.remember(record)
            self._out.traffic(contact_id=contact_id, contact=contact_json(record))
        return note, durable

    async def postpone(
        self,
        contact_id: str,
        *,
        until: datetime,
        reason: str,
        to_employee: str | None,
        to_purpose: str | None,
        actor: str,
    ) -> ContactRecord:
        current = await self.get(contact_id)
        self._check(current, ContactStatus.POSTPONED)
        late = until_problem(until, self._clock())
        if late is not None:
            raise InvalidContact([late])
        values: dict[str, Any] = {
            "status": ContactStatus.POSTPONED.value,
            "postponed_until": until,
            "postponed_reason": reason,
            "queued_at": None,
        }
        if to_employee:
            values |= {
                "postponed_to": to_employee,
                "responsible_employee_id": to_employee,
                "purpose_group": None,
            }
        elif to_purpose:
            values |= {"postponed_to": None, "responsible_employee_id": None, "purpose_group": to_purpose}
        self._check_fields(replace(current, **values))
        return await self._save(current, values, actor, "postponed")

    async def finalize(self, contact_id: str, actor: str) -> ContactRecord:
        current = await self.get(contact_id)
        self._check(current, ContactStatus.FINALIZED)
        now = self._clock()
        values = {
            "status": ContactStatus.FINALIZED.value,
            "finalized_at": now,
            "finalized_by": actor,
            "queued_at": None,
        }
        return await self._save(current, values, actor, "finalized")

    async def missed(self, contact_id: str, reason: str, actor: str) -> ContactRecord:
        current = await self.get(contact_id)
        self._check(current, ContactStatus.MISSED)
        values = {"status": ContactStatus.MISSED.value, "missed_reason": reason, "queued_at": None}
        return await self._save(current, values, actor, "missed")

    # --- internals -----------------------------------------------------------------------------------
    def _check(self, current: ContactRecord, target: ContactStatus) -> None:
        try:
            check_transition(ContactStatus(current.status), target)
        except TransitionError as exc:
            raise ContactConflict(str(exc), allowed=[s.value for s in exc.allowed], field="status") from None

    def _check_fields(self, record: ContactRecord) -> None:
        problems = field_problems(record, self._catalog())
        if problems:
            raise InvalidContact(problems)

    async def _save(
        self,
        current: ContactRecord,
        values: dict[str, Any],
        actor: str,
        kind: str,
        extra: dict[str, Any] | None = None,
    ) -> ContactRecord:
        now = self._clock()
        values["updated_at"] = now
        if "caller_phone" in values:
            values["caller_e164"] = (
                self._rules.e164(values["caller_phone"]) if values["caller_phone"] else None
            )
        shown = {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items() if k != "updated_at"
        }
        event = EventRecord(uuid7(), now, actor, kind, shown | (extra or {}))
        try:
            record = await self._journal.update(
                current.id, values, expected_version=current.version, event=event
            )
        except ContactChangedError:
            raise ContactConflict(
                f"contact {current.id} was changed by someone else meanwhile; read it again", field="version"
            ) from None
        except ContactReferenceError as exc:
            raise InvalidContact([FieldProblem("customer_id", str(exc))]) from None
        except StoreUnavailableError as exc:
            raise JournalUnavailable(
                f"the journal's store is unavailable ({exc}); nothing was changed"
            ) from None
        if record.customer_id != current.customer_id:
            # Reception said who called: their history changed, and a shared number now puts them first.
            self._writer.forget_cards(record.customer_id, current.customer_id, record.caller_e164)
        self._ring.remember(record)
        self._announce(record)
        if (
            record.responsible_employee_id != current.responsible_employee_id
            or record.purpose_group != current.purpose_group
        ):
            await self._notify_assignment(record)
        log.info("journal.changed", contact_id=record.id, actor=actor, kind=kind, status=record.status)
        return record

    def _announce(self, record: ContactRecord, *, durable: bool = True) -> None:
        self._out.traffic(contact_id=record.id, contact=contact_json(record, durable=durable))

    async def customer_name(self, record: ContactRecord) -> str | None:
        if not record.customer_id:
            return None
        try:
            card = await self._cards.card(record.customer_id)
        except StoreUnavailableError:
            return None
        return card.card.name if card is not None else None

    async def _notify_assignment(self, record: ContactRecord) -> None:
        if record.status not in (ContactStatus.ASSIGNED, ContactStatus.REGISTERED, ContactStatus.POSTPONED):
            return
        group = record.purpose_group or (None if record.responsible_employee_id else record.purpose)
        members = self._catalog().members(group)
        name = await self.customer_name(record)
        for notice in notify_rules.on_assignment(facts(record, name), members):
            self._out.notify(
                employee_id=notice.employee_id,
                kind=notice.kind,
                contact_id=notice.contact_id,
                text=notice.text,
                at=self._clock(),
            )


def facts(record: ContactRecord, customer_name: str | None = None) -> notify_rules.ContactFacts:
    caller = record.caller_name or record.caller_phone
    return notify_rules.ContactFacts(
        record.id,
        record.type,
        record.purpose,
        record.sub_purpose,
        record.responsible_employee_id,
        customer_name,
        caller,
        record.description,
    )
