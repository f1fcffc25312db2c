"""The contact journal's rules (seeds 001, 003, 004): what a registration needs, where a purpose comes
from, which status may follow which. Pure: plain data in, plain data (or a typed refusal) out."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ContactType(StrEnum):
    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    CHAT = "chat"
    OTHER = "other"


class ContactStatus(StrEnum):
    REGISTERED = "registered"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    FINALIZED = "finalized"
    MISSED = "missed"
    POSTPONED = "postponed"


S = ContactStatus
# Reassignment is assigned -> assigned (another employee or purpose group); postponing keeps a contact
# open and may move it. Finalized is final. A missed contact (a call nobody answered, a visitor who left)
# can still be given to someone to call back, and nothing else.
TRANSITIONS: Mapping[ContactStatus, frozenset[ContactStatus]] = {
    S.REGISTERED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.POSTPONED, S.FINALIZED, S.MISSED}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.POSTPONED, S.FINALIZED, S.MISSED}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.POSTPONED, S.FINALIZED}),
    S.POSTPONED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.POSTPONED, S.FINALIZED, S.MISSED}),
    S.FINALIZED: frozenset(),
    S.MISSED: frozenset({S.ASSIGNED}),
}
OPEN_STATUSES = frozenset({S.REGISTERED, S.ASSIGNED, S.IN_PROGRESS, S.POSTPONED})

# Set by the server, never by a client: a PATCH naming one of these is refused.
SERVER_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "created_by",
        "finalized_at",
        "finalized_by",
        "updated_at",
        "version",
        "node_id",
        "notes",
        "events",
        "call_id",
        "type",
        "purpose_auto",
    }
)

DOCUMENT_PURPOSE = {
    "repair_order": "service",
    "sale": "showroom",
    "parts_order": "shop",
    "complaint": "feedback",
}


class TransitionError(Exception):
    def __init__(self, current: ContactStatus, target: ContactStatus) -> None:
        self.current = current
        self.target = target
        self.allowed = sorted(TRANSITIONS[current])
        allowed = ", ".join(self.allowed) or "none: the contact is closed"
        super().__init__(f"a {current} contact cannot become {target} (allowed: {allowed})")


def check_transition(current: ContactStatus, target: ContactStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise TransitionError(current, target)


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Registration:
    """What reception (or the ring at reception) says about a new contact."""

    type: ContactType
    purpose: str | None = None
    sub_purpose: str | None = None
    customer_id: str | None = None
    caller_name: str | None = None
    caller_phone: str | None = None
    caller_note: str | None = None
    tax_id: str | None = None
    vehicle_id: str | None = None
    document_number: str | None = None
    responsible_employee_id: str | None = None
    description: str | None = None
    call_id: str | None = None
    transfer: bool = False
    queued: bool = False  # a visit waiting in the queue
    override: bool = False  # an admin gives the contact to someone outside its purpose's group
    confirm: bool = False  # put through even though the employee's presence is busy or away


@dataclass(frozen=True, slots=True)
class OpenDocument:
    kind: str
    purpose: str | None


@dataclass(frozen=True, slots=True)
class PurposeChoice:
    code: str | None
    sub: str | None
    auto: bool


def validate(
    reg: Registration, purposes: Mapping[str, Sequence[str]], employees: Iterable[str]
) -> list[FieldProblem]:
    """Every problem at once, each naming its field (the API answers 400 with the first and lists all)."""
    problems: list[FieldProblem] = []
    identifying = (reg.customer_id, reg.caller_phone, reg.tax_id, reg.vehicle_id, reg.document_number)
    if reg.transfer:
        # Seed 003: a call put through to an employee needs no customer; the employee identifies later.
        if reg.type is not ContactType.CALL:
            problems.append(FieldProblem("transfer", "only a call can be transferred"))
        if not reg.responsible_employee_id:
            problems.append(
                FieldProblem("responsible_employee_id", "a transfer needs the employee to put it through to")
            )
    elif not any(v and v.strip() for v in identifying):
        problems.append(
            FieldProblem(
                "customer_id",
                "give at least one of customer_id, caller.phone, tax_id, vehicle_id or document_number",
            )
        )
    if reg.purpose is not None and reg.purpose not in purposes:
        problems.append(
            FieldProblem("purpose", f"unknown purpose {reg.purpose!r} (known: {', '.join(purposes)})")
        )
    elif reg.sub_purpose is not None:
        if reg.purpose is None:
            problems.append(FieldProblem("sub_purpose", "a second level needs its purpose"))
        elif reg.sub_purpose not in purposes[reg.purpose]:
            known = ", ".join(purposes[reg.purpose]) or "none configured"
            problems.append(
                FieldProblem("sub_purpose", f"{reg.sub_purpose!r} is not a level of {reg.purpose} ({known})")
            )
    staff = set(employees)
    if reg.responsible_employee_id and reg.responsible_employee_id not in staff:
        problems.append(
            FieldProblem("responsible_employee_id", f"no employee {reg.responsible_employee_id!r}")
        )
    if reg.queued and reg.type is not ContactType.VISIT:
        problems.append(FieldProblem("queued", "only a visit waits in the queue"))
    return problems


def choose_purpose(reg: Registration, open_documents: Sequence[OpenDocument]) -> PurposeChoice:
    """The given purpose, else the first open document's (marked auto), else none yet."""
    if reg.purpose is not None:
        return PurposeChoice(reg.purpose, reg.sub_purpose, auto=False)
    for doc in open_documents:
        code = doc.purpose or DOCUMENT_PURPOSE.get(doc.kind)
        if code:
            return PurposeChoice(code, None, auto=True)
    return PurposeChoice(None, None, auto=False)


def initial_status(reg: Registration) -> ContactStatus:
    return ContactStatus.ASSIGNED if reg.responsible_employee_id else ContactStatus.REGISTERED


def status_after_reassignment(current: ContactStatus) -> ContactStatus:
    """Giving a contact to someone (else) makes it assigned, from any open status."""
    check_transition(current, ContactStatus.ASSIGNED)
    return ContactStatus.ASSIGNED


def serves_purpose(employee_id: str, purpose: str | None, members: Collection[str]) -> bool:
    """Whether an employee may be responsible for a contact of this purpose: they are of its group. No
    purpose yet, or a purpose nobody is in (the catalog before the store answers), binds nobody."""
    return not purpose or not members or employee_id in members


def vehicle_problem(
    vehicle_id: str | None, customer_id: str | None, owned: Collection[str]
) -> FieldProblem | None:
    """A contact's vehicle must be one of its customer's (`owned`: the customer's vehicle ids)."""
    if vehicle_id is None or customer_id is None or vehicle_id in owned:
        return None
    return FieldProblem("vehicle_id", f"vehicle {vehicle_id} does not belong to customer {customer_id}")


def until_problem(until: datetime, now: datetime) -> FieldProblem | None:
    if until < now:
        return FieldProblem("until", f"until {until.isoformat()} is in the past (now {now.isoformat()})")
    return None
