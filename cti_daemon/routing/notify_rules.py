"""Who is told about a contact, and what (seed 003): the responsible employee, or when there is none
every employee of the contact's purpose; reception too for a visitor waiting in the queue. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

NoticeKind = Literal[
    "assigned", "purpose_group", "queue_reminder", "transfer", "postponed_due", "followup_due"
]


@dataclass(frozen=True, slots=True)
class ContactFacts:
    id: str
    type: str
    purpose: str | None
    sub_purpose: str | None
    responsible_employee_id: str | None
    customer_name: str | None
    caller: str | None  # the free caller details or the number, when no customer
    description: str | None


@dataclass(frozen=True, slots=True)
class Notice:
    employee_id: str
    kind: NoticeKind
    contact_id: str
    text: str


def _about(c: ContactFacts) -> str:
    who = c.customer_name or c.caller or "unknown caller"
    what = c.purpose or "no purpose yet"
    if c.sub_purpose:
        what = f"{what} / {c.sub_purpose}"
    text = f"{c.type} from {who} — {what}"
    return f"{text}: {c.description}" if c.description else text


def on_assignment(contact: ContactFacts, purpose_members: Sequence[str]) -> list[Notice]:
    if contact.responsible_employee_id:
        return [
            Notice(
                contact.responsible_employee_id, "assigned", contact.id, f"Assigned to you: {_about(contact)}"
            )
        ]
    return [
        Notice(e, "purpose_group", contact.id, f"For your group: {_about(contact)}") for e in purpose_members
    ]


def postponed_due(contact: ContactFacts, purpose_members: Sequence[str], reason: str | None) -> list[Notice]:
    """A postponement came due: back to whom it was postponed to, else to the group it went to."""
    why = f" (postponed: {reason})" if reason else ""
    text = f"Due now{why}: {_about(contact)}"
    if contact.responsible_employee_id:
        return [Notice(contact.responsible_employee_id, "postponed_due", contact.id, text)]
    return [Notice(e, "postponed_due", contact.id, text) for e in purpose_members]


def queue_reminders(
    contact: ContactFacts, reception: Sequence[str], purpose_members: Sequence[str], waiting_minutes: int
) -> list[Notice]:
    text = f"Waiting {waiting_minutes} min in the queue: {_about(contact)}"
    handlers = [contact.responsible_employee_id] if contact.responsible_employee_id else list(purpose_members)
    seen: dict[str, None] = dict.fromkeys([*reception, *handlers])
    return [Notice(e, "queue_reminder", contact.id, text) for e in seen]


def transfer_notice(
    contact: ContactFacts, to_employee_id: str, from_extension: str | None, *, attended: bool = False
) -> Notice:
    by = from_extension or "reception"
    if attended:
        text = f"Attended transfer from {by}: {_about(contact)}; {by} speaks to you first"
    else:
        text = f"Call put through to you from {by}: {_about(contact)}"
    return Notice(to_employee_id, "transfer", contact.id, text)
