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
        lines.append("│ Same number also: " + "; ".join(c["name"] for c in others))
    lines.append("└─")
    return "\n".join(lines)
