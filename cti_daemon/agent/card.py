"""A screen pop rendered as text, the way an agent reads it: who calls, their cars, why they probably call."""

from __future__ import annotations

from typing import Any

_DOC_KIND = {
    "repair_order": "repair order",
    "sale": "sale",
    "parts_order": "parts order",
    "complaint": "complaint",
}


def render(pop: dict[str, Any]) -> str:
    kind = pop.get("type")
    if kind == "dismiss":
        return f"  ✕ call {pop.get('call_id')} no longer for you ({pop.get('reason')})"
    caller = pop.get("caller") or {}
    number = caller.get("number") or caller.get("raw") or "?"
    head = "UPDATE" if kind == "update" else "RINGING"
    where = f" at {pop['extension']} ({pop.get('employee_id')})" if pop.get("extension") else ""
    lines = [f"┌─ {head}{where}  call {pop.get('call_id')}  {str(pop.get('at', ''))[11:19]}"]
    customer = pop.get("customer")
    if not pop.get("identified") or customer is None:
        shown = caller.get("raw") or "no number"
        lines.append(f"│ Unknown caller: {shown}" + (f" — {caller['name']}" if caller.get("name") else ""))
        if pop.get("reason"):
            lines.append(f"│ ({pop['reason']})")
        lines.extend(_contact(pop))
        lines.append("└─")
        return "\n".join(lines)
    lines.append(
        f"│ {customer['name']}  {number}" + (f"  (PBX: {caller['name']})" if caller.get("name") else "")
    )
    crm = customer.get("crm_status") or {}
    if crm:
        lines.append("│ CRM: " + ", ".join(f"{k} {v}" for k, v in crm.items()))
    lines.extend(
        f"│ Car: {car.get('model') or '?'}  {car.get('plate') or ''}  VIN {car.get('vin') or '?'}"
        for car in customer.get("vehicles") or []
    )
    lines.extend(
        f"│ Open: {_DOC_KIND.get(doc['kind'], doc['kind'])} {doc['number']} ({doc.get('purpose') or '-'})"
        for doc in customer.get("open_documents") or []
    )
    history = pop.get("history") or {}
    if history.get("contacts_90d"):
        last = str(history.get("last_contact_at"))[:10]
        lines.append(f"│ Contacts in 90 days: {history['contacts_90d']}, last {last}")
    purpose = pop.get("purpose")
    if purpose:
        lines.append(f"│ Purpose: {purpose['code']}" + (" (auto)" if purpose.get("auto") else ""))
    others = [c for c in pop.get("candidates") or [] if c.get("id") != customer.get("id")]
    if others:
        # customer_guess: the card above is the likeliest of the number's owners, not a confirmed caller.
        said = "Most likely; same number also: " if pop.get("customer_guess") else "Same number also: "
        lines.append("│ " + said + "; ".join(c["name"] for c in others))
    lines.extend(_contact(pop))
    lines.append("└─")
    return "\n".join(lines)


def _contact(pop: dict[str, Any]) -> list[str]:
    """The journal's side: the contact this call is, and what reception wrote when it put the call through."""
    contact = pop.get("contact")
    if not contact:
        return [f"│ Journal: contact {pop['contact_id']}"] if pop.get("contact_id") else []
    by = contact.get("written_by") or contact.get("registered_by") or "?"
    out = [f"│ From reception ({by}): {contact.get('description') or '-'}"]
    out.extend(f"│ Note by {n.get('author')}: {n.get('text')}" for n in contact.get("notes") or [])
    return out


def render_notify(note: dict[str, Any]) -> str:
    kind = str(note.get("kind", "?")).replace("_", " ")
    contact = f"  (contact {note['contact_id']})" if note.get("contact_id") else ""
    return f"  ! {kind}: {note.get('text') or ''}{contact}"


def render_line(line: dict[str, Any]) -> str:
    who = f" ({line['employee_id']})" if line.get("employee_id") else ""
    call = f"  call {line['call_id']}" if line.get("call_id") else ""
    return f"  line {line.get('extension')}{who}: {line.get('status')}{call}"


def render_presence(presence: dict[str, Any]) -> str:
    note = f" — {presence['note']}" if presence.get("note") else ""
    return f"  presence: {presence.get('status')}{note} (client {presence.get('client')})"
