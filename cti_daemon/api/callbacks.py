"""GET /api/v1/callbacks: the callers to call back — missed calls (any employee's, a queue caller who
gave up) merged per number, newest first. An entry closes by itself once the caller is answered later or
a click to dial reaches them. Reception's and the admin's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, ok
from cti_daemon.crm.call_facts_store import CallbackEntry
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.timefmt import iso

ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["number", "count", "last_at", "last_contact_id", "contact_ids"],
    "properties": {
        "number": {"type": "string"},
        "count": {"type": "integer", "minimum": 1},
        "last_at": {"type": "string", "format": "date-time"},
        "first_at": {"type": "string", "format": "date-time"},
        "last_contact_id": {"type": "string"},
        "contact_ids": {"type": "array", "items": {"type": "string"}},
        "caller_name": {"type": ["string", "null"]},
        "customer_id": {"type": ["string", "null"]},
        "last_reason": {"type": ["string", "null"]},
        "last_outcome": {"enum": ["missed", "abandoned", None]},
        "last_wait_s": {"type": ["integer", "null"]},
        "responsible_employee_id": {"type": ["string", "null"]},
    },
}


def as_json(e: CallbackEntry) -> dict[str, Any]:
    return {
        "number": e.number,
        "count": e.count,
        "last_at": iso(e.last_at),
        "first_at": iso(e.first_at),
        "last_contact_id": e.last_contact_id,
        "contact_ids": list(e.contact_ids),
        "caller_name": e.caller_name,
        "customer_id": e.customer_id,
        "last_reason": e.last_reason,
        "last_outcome": e.last_outcome,
        "last_wait_s": e.last_wait_s,
        "responsible_employee_id": e.responsible_employee_id,
    }


def routes(entries: Callable[[], Awaitable[list[CallbackEntry]]]) -> list[Route]:
    async def listing(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        try:
            found = await entries()
        except StoreUnavailableError as exc:
            raise ApiError(503, "store_unavailable", f"the journal's store is unavailable ({exc})") from None
        return ok({"callbacks": [as_json(e) for e in found]})

    schema = {"type": "object", "properties": {"callbacks": {"type": "array", "items": ENTRY}}}
    return [
        Route(
            "GET",
            "/api/v1/callbacks",
            listing,
            "Missed callers to call back, merged per number (count, last time), newest first",
            {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}},
            tag="journal",
        )
    ]
