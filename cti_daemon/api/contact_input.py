"""Reading the journal's request bodies: every field checked for type and length, unknown fields and
fields the server owns refused by name (a typo gets a 400 that says which field, never a 500)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cti_daemon.api.errors import bad_request
from cti_daemon.routing.journal import Change
from cti_daemon.routing.journal_rules import SERVER_FIELDS, ContactStatus, ContactType, Registration

_TEXT = 200
_LONG = 4000
_CALLER = {"name": _TEXT, "phone": 64, "note": _LONG}
_REGISTER = {
    "type",
    "purpose",
    "sub_purpose",
    "customer_id",
    "caller",
    "tax_id",
    "vehicle_id",
    "document_number",
    "responsible_employee_id",
    "description",
    "call_id",
    "transfer",
    "queued",
    "override",
    "confirm",
}
_PATCH = {
    "purpose",
    "sub_purpose",
    "customer_id",
    "caller",
    "tax_id",
    "vehicle_id",
    "document_number",
    "responsible_employee_id",
    "purpose_group",
    "description",
    "status",
    "version",
    "override",
}
_LENGTHS = {
    "description": _LONG,
    "customer_id": 64,
    "vehicle_id": 64,
    "tax_id": 32,
    "document_number": 64,
    "responsible_employee_id": 64,
    "purpose": 24,
    "sub_purpose": 48,
    "purpose_group": 24,
    "call_id": 64,
}
_PATCH_STATUSES = {ContactStatus.ASSIGNED, ContactStatus.IN_PROGRESS}
_ELSEWHERE = {"finalized": "finalize", "missed": "missed", "postponed": "postpone"}


def _refuse_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key in SERVER_FIELDS and key not in allowed:
            raise bad_request(
                f"{key} is set by the server and cannot be given or changed", field=key, code="immutable"
            )
        if key not in allowed:
            raise bad_request(f"unknown field {key!r} (known: {', '.join(sorted(allowed))})", field=key)


def text(
    body: dict[str, Any], key: str, limit: int, *, required: bool = False, label: str = ""
) -> str | None:
    name = label or key
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string", field=name)
    value = value.strip()
    if len(value) > limit:
        raise bad_request(f"{name} is longer than {limit} characters", field=name)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise bad_request(f"{name} contains control characters", field=name)
    if not value and required:
        raise bad_request(f"{name} must not be empty", field=name)
    return value or None


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise bad_request(f"{key} must be true or false", field=key)
    return value


def _caller(body: dict[str, Any]) -> dict[str, str | None]:
    caller = body.get("caller")
    if caller is None:
        return {}
    if not isinstance(caller, dict):
        raise bad_request("caller must be an object {name, phone, note}", field="caller")
    for key in caller:
        if key not in _CALLER:
            raise bad_request(f"unknown field caller.{key} (known: name, phone, note)", field=f"caller.{key}")
    return {key: text(caller, key, limit, label=f"caller.{key}") for key, limit in _CALLER.items()}


def registration(body: dict[str, Any]) -> Registration:
    _refuse_unknown(body, _REGISTER)
    kind = text(body, "type", 16, required=True)
    try:
        contact_type = ContactType(kind or "")
    except ValueError:
        raise bad_request(
            f"type must be one of {', '.join(t.value for t in ContactType)}", field="type"
        ) from None
    caller = _caller(body)
    values = {k: text(body, k, limit) for k, limit in _LENGTHS.items() if k in _REGISTER}
    return Registration(
        type=contact_type,
        caller_name=caller.get("name"),
        caller_phone=caller.get("phone"),
        caller_note=caller.get("note"),
        transfer=_flag(body, "transfer"),
        queued=_flag(body, "queued"),
        override=_flag(body, "override"),
        confirm=_flag(body, "confirm"),
        **values,
    )


def change(body: dict[str, Any]) -> Change:
    _refuse_unknown(body, _PATCH)
    if not body:
        raise bad_request("nothing to change", field=None)
    values: dict[str, Any] = {}
    for key, limit in _LENGTHS.items():
        if key in body and key in _PATCH:
            values[key] = text(body, key, limit)
    caller = _caller(body)
    for key, value in caller.items():
        if key in (body.get("caller") or {}):
            values[f"caller_{key}"] = value
    status = None
    if "status" in body:
        name = text(body, "status", 16, required=True)
        if name in _ELSEWHERE:
            raise bad_request(
                f"to make a contact {name}, POST /api/v1/contacts/{{id}}/{_ELSEWHERE[name]}", field="status"
            )
        try:
            status = ContactStatus(name or "")
        except ValueError:
            raise bad_request(f"unknown status {name!r}", field="status") from None
        if status not in _PATCH_STATUSES:
            raise bad_request("status can be set to assigned or in_progress here", field="status")
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise bad_request("version must be a positive integer", field="version")
    return Change(values, status, version, override=_flag(body, "override"))


def moment(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise bad_request(f"{key} must be an ISO 8601 date and time", field=key)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC here: '0001-01-01T00:00+14:00' parses but has no UTC form, and the database needs one.
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(f"{key} must be an ISO 8601 date and time, not {value[:40]!r}", field=key) from None
    except OverflowError:
        raise bad_request(f"{key} {value[:40]!r} is out of range once in UTC", field=key) from None


def only(body: dict[str, Any], allowed: set[str]) -> None:
    _refuse_unknown(body, allowed)
