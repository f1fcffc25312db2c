"""A contact as JSON: the body of the journal's HTTP answers and of `cti/traffic/{contact_id}`."""

from __future__ import annotations

from typing import Any

from cti_daemon.crm.journal_store import ContactRecord
from cti_daemon.timefmt import iso


def contact_json(c: ContactRecord, *, durable: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": 1,
        "id": c.id,
        "type": c.type,
        "status": c.status,
        "purpose": {"code": c.purpose, "sub": c.sub_purpose, "auto": c.purpose_auto} if c.purpose else None,
        "purpose_group": c.purpose_group,
        "customer_id": c.customer_id,
        "candidate_ids": list(c.candidate_ids),
        "customer_guess": customer_guess(c),
        "caller": {
            "name": c.caller_name,
            "phone": c.caller_phone,
            "e164": c.caller_e164,
            "note": c.caller_note,
        },
        "tax_id": c.tax_id,
        "vehicle_id": c.vehicle_id,
        "document_number": c.document_number,
        "responsible_employee_id": c.responsible_employee_id,
        "description": c.description,
        "call_id": c.call_id,
        "node_id": c.node_id,
        "created_at": iso(c.created_at),
        "created_by": c.created_by,
        "finalized_at": iso(c.finalized_at),
        "finalized_by": c.finalized_by,
        "postponed": (
            {"until": iso(c.postponed_until), "reason": c.postponed_reason, "to": c.postponed_to}
            if c.status == "postponed"
            else None
        ),
        "missed_reason": c.missed_reason,
        "queued_at": iso(c.queued_at),
        "updated_at": iso(c.updated_at),
        "version": c.version,
        "direction": c.direction,
        "answers_contact_id": c.answers_contact_id,
        "call": {
            "outcome": c.outcome,
            "rang_at": iso(c.rang_at),
            "answered_at": iso(c.answered_at),
            "ended_at": iso(c.ended_at),
            "answered_by": c.answered_by,
            "answer_s": c.answer_s,
            "talk_s": c.talk_s,
            "wait_s": c.wait_s,
        },
        "callback": (
            {"at": iso(c.callback_at), "kind": c.callback_kind, "contact_id": c.callback_contact_id}
            if c.callback_at
            else None
        ),
        "notes": [{"id": n.id, "author": n.author, "at": iso(n.at), "text": n.text} for n in c.notes],
        "history": [{"at": iso(e.at), "actor": e.actor, "kind": e.kind, "data": e.data} for e in c.events],
    }
    if not durable:
        body["spooled"] = True  # accepted while the store was away: kept on disk, written when it is back
    return body


def customer_guess(c: ContactRecord) -> str | None:
    """A shared number's contact names no customer until reception confirms one; its candidates are in
    the order the pop showed them, so the first is the pop's guess (unconfirmed)."""
    return c.candidate_ids[0] if c.customer_id is None and len(c.candidate_ids) > 1 else None


def pop_contact(c: ContactRecord) -> dict[str, Any]:
    """What a pop at the employee the call reaches says of the contact: why the customer calls, and
    what reception wrote."""
    return {
        "id": c.id,
        "status": c.status,
        "purpose": {"code": c.purpose, "sub": c.sub_purpose, "auto": c.purpose_auto} if c.purpose else None,
        "description": c.description,
        "responsible_employee_id": c.responsible_employee_id,
        "caller": {"name": c.caller_name, "phone": c.caller_phone, "note": c.caller_note},
        "vehicle_id": c.vehicle_id,  # the car reception chose (the page marks it among the customer's)
        "notes": [{"author": n.author, "at": iso(n.at), "text": n.text} for n in c.notes],
        "registered_by": c.created_by,
        # Who wrote last (reception completing what the ring registered): the one the employee may call.
        "written_by": c.events[-1].actor if c.events else c.created_by,
    }
