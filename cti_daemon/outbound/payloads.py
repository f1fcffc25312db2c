"""JSON payloads of the MQTT contract (every one carries "v": 1). Pure functions: data in, dicts out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from cti_daemon.ami.call_events import LineStatus, Party, QueueMembership
from cti_daemon.crm.identify import CustomerCard, Identification
from cti_daemon.timefmt import iso

VERSION = 1

NotifyKind = Literal[
    "assigned", "purpose_group", "queue_reminder", "transfer", "postponed_due", "followup_due"
]
ClientState = Literal["online", "offline"]


def customer(card: CustomerCard) -> dict[str, Any]:
    return {
        "id": card.id,
        "name": card.name,
        "kind": card.kind,
        "crm_status": card.crm_status,
        "vehicles": [
            {"id": v.id, "vin": v.vin, "plate": v.plate, "model": v.model, "year": v.year}
            for v in card.vehicles
        ],
        "open_documents": [
            {
                "id": d.id,
                "kind": d.kind,
                "number": d.number,
                "status": d.status,
                "purpose": d.purpose,
                "opened_at": iso(d.opened_at),
            }
            for d in card.open_documents
        ],
    }


def caller(party: Party, ident: Identification) -> dict[str, Any]:
    return {"number": ident.number.e164, "raw": party.number, "name": party.name or None}


def purpose_of(ident: Identification) -> dict[str, Any] | None:
    """The auto purpose: that of the customer's most recent open document, if any."""
    card = ident.customer
    if card is None:
        return None
    for doc in card.open_documents:
        if doc.purpose:
            return {"code": doc.purpose, "sub": None, "auto": True}
    return None


def popup(
    *,
    call_id: str,
    contact_id: str | None,
    at: datetime,
    extension: str,
    employee_id: str,
    party: Party,
    ident: Identification,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    card = ident.customer
    body: dict[str, Any] = {
        "v": VERSION,
        "type": "popup",
        "call_id": call_id,
        "contact_id": contact_id,
        "at": iso(at),
        "extension": extension,
        "employee_id": employee_id,
        "caller": caller(party, ident),
        "identified": ident.identified,
        "reason": ident.reason,
        "customer": customer(card) if card is not None else None,
        "customer_guess": ident.customer_guess,
        "candidates": [customer(c) for c in ident.candidates] if len(ident.candidates) > 1 else [],
        "purpose": purpose_of(ident),
        "history": {
            "last_contact_at": iso(card.last_contact_at) if card else None,
            "contacts_90d": card.contacts_90d if card else 0,
        },
    }
    if extra:
        body.update(extra)
    return body


def update(*, call_id: str, at: datetime, party: Party, ident: Identification) -> dict[str, Any]:
    body = popup(
        call_id=call_id, contact_id=None, at=at, extension="", employee_id="", party=party, ident=ident
    )
    body["type"] = "update"
    for key in ("contact_id", "extension", "employee_id"):
        del body[key]
    return body


def dismiss(*, call_id: str, reason: str, at: datetime) -> dict[str, Any]:
    return {"v": VERSION, "type": "dismiss", "call_id": call_id, "reason": reason, "at": iso(at)}


def line(
    *,
    extension: str,
    status: LineStatus,
    employee_id: str | None,
    call_id: str | None,
    since: datetime,
    queues: tuple[QueueMembership, ...] = (),
) -> dict[str, Any]:
    return {
        "v": VERSION,
        "extension": extension,
        "status": status.value,
        "employee_id": employee_id,
        "call_id": call_id,
        "since": iso(since),
        "queues": queue_memberships(queues),
    }


def queue_memberships(queues: tuple[QueueMembership, ...]) -> dict[str, dict[str, Any]]:
    """`{"service": {"paused": true, "reason": "lunch"}}`: the queues the line's phone is a member of.
    A paused member takes no queue calls; the line's own status is unaffected by it."""
    return {m.queue: {"paused": m.paused, "reason": m.reason} for m in queues}


def call_event(
    *, event: str, call_id: str, party: Party | None, extension: str | None, at: datetime, **more: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": VERSION,
        "event": event,
        "call_id": call_id,
        "from": party.number if party else None,
        "from_name": party.name if party else None,
        "to": extension,
        "extension": extension,
        "at": iso(at),
    }
    body.update(more)
    return body


def daemon_status(
    *,
    online: bool,
    ami_connected: bool,
    since: datetime,
    node_id: str,
    ami_reason: str | None = None,
    ami_error_at: datetime | None = None,
) -> dict[str, Any]:
    """`ami_reason`: why AMI is not usable (auth_failed, unreachable, booting, silent), None while it is;
    `ami_error_at`: its last failure, kept after recovery."""
    return {
        "v": VERSION,
        "state": "online" if online else "offline",
        "ami": "connected" if ami_connected else "disconnected",
        "since": iso(since),
        "node_id": node_id,
        "ami_reason": ami_reason,
        "ami_last_error_at": iso(ami_error_at) if ami_error_at is not None else None,
    }


def notify(
    *, kind: NotifyKind, contact_id: str | None, text: str, at: datetime, **more: Any
) -> dict[str, Any]:
    """A notification for one employee: a contact assigned to them, one for their purpose group, a visitor
    still waiting (queue reminder), a transfer coming their way. `more` carries what the kind needs
    (call_id, purpose, from_employee_id...)."""
    body: dict[str, Any] = {"v": VERSION, "kind": kind, "contact_id": contact_id, "text": text, "at": iso(at)}
    body.update(more)
    return body


def presence(
    *, employee_id: str, status: str, note: str | None, client: ClientState, since: datetime
) -> dict[str, Any]:
    return {
        "v": VERSION,
        "employee_id": employee_id,
        "status": status,
        "note": note,
        "client": client,
        "since": iso(since),
    }


def traffic(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The contact record as the journal has it after a change, with the payload version."""
    return {"v": VERSION, **contact}


def client_state(state: ClientState) -> str:
    """An agent client's own retained topic: a JSON string, "online" or "offline"."""
    return state
