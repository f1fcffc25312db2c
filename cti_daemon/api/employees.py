"""GET /api/v1/employees (?purpose=) and /api/v1/employees/{id} — who works here, their line, presence
and load (open contacts they are responsible for, contacts they handled). Reception picks the responsible
employee from this (seed 003).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError, not_found
from cti_daemon.api.routes import Route, ok, path_text, query_text
from cti_daemon.crm.staff import StaffRow
from cti_daemon.crm.store import StoreUnavailableError


@dataclass(frozen=True, slots=True)
class PresenceView:
    status: str | None
    note: str | None
    logged_in: bool | None


StaffSource = Callable[[], Awaitable[list[StaffRow]]]
LineStatusOf = Callable[[str], str]  # extension -> line status
PresenceOf = Callable[[str], PresenceView | None]  # employee id -> presence (None: not known)
LoadSource = Callable[[], Awaitable[dict[str, tuple[int, int]]]]  # employee id -> (open, handled) contacts

NULLABLE_STRING = {"type": ["string", "null"]}
EMPLOYEE = {
    "type": "object",
    "required": [
        "id",
        "name",
        "extension",
        "purposes",
        "line_status",
        "presence",
        "logged_in",
        "open_contacts",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "login": NULLABLE_STRING,
        "extension": NULLABLE_STRING,
        "purposes": {"type": "array", "items": {"type": "string"}},
        "line_status": {"enum": ["ready", "ringing", "talking", "offline", "unknown", None]},
        "presence": {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "properties": {"status": NULLABLE_STRING, "note": NULLABLE_STRING}},
            ]
        },
        "logged_in": {"type": ["boolean", "null"]},
        "open_contacts": {"type": ["integer", "null"]},
        "handled_contacts": {"type": ["integer", "null"]},
    },
}


def routes(
    staff: StaffSource,
    line_status: LineStatusOf,
    presence: PresenceOf | None = None,
    load: LoadSource | None = None,
) -> list[Route]:
    def as_json(row: StaffRow, counts: dict[str, tuple[int, int]] | None) -> dict[str, Any]:
        seen = presence(row.id) if presence is not None else None
        opened, handled = counts.get(row.id, (0, 0)) if counts is not None else (None, None)
        return {
            "id": row.id,
            "name": row.name,
            "login": row.login,
            "extension": row.extension,
            "purposes": row.purposes,
            "line_status": line_status(row.extension) if row.extension else None,
            "presence": {"status": seen.status, "note": seen.note} if seen is not None else None,
            "logged_in": seen.logged_in if seen is not None else None,
            "open_contacts": opened,
            "handled_contacts": handled,
        }

    async def rows() -> tuple[list[StaffRow], dict[str, tuple[int, int]] | None]:
        try:
            return await staff(), (await load() if load is not None else None)
        except StoreUnavailableError as exc:
            raise ApiError(503, "store_unavailable", "the store is unavailable; try again") from exc

    async def list_employees(request: web.Request) -> web.Response:
        purpose = query_text(request, "purpose", required=False, max_len=24)
        staff_rows, counts = await rows()
        chosen = [r for r in staff_rows if purpose is None or purpose in r.purposes]
        return ok({"employees": [as_json(r, counts) for r in chosen]})

    async def one_employee(request: web.Request) -> web.Response:
        employee_id = path_text(request, "employee_id")
        staff_rows, counts = await rows()
        for row in staff_rows:
            if row.id == employee_id:
                return ok(as_json(row, counts))
        raise not_found(f"no employee {employee_id}", field="employee_id")

    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}

    listing = {
        "type": "object",
        "required": ["employees"],
        "properties": {"employees": {"type": "array", "items": EMPLOYEE}},
    }
    return [
        Route(
            "GET",
            "/api/v1/employees",
            list_employees,
            "Employees (of one purpose with ?purpose=): extension, purposes, line status, presence, logged "
            "in, open and handled contacts",
            answer(listing),
            parameters=[{"name": "purpose", "in": "query", "schema": {"type": "string", "maxLength": 24}}],
            tag="employees",
        ),
        Route(
            "GET",
            "/api/v1/employees/{employee_id}",
            one_employee,
            "One employee",
            answer(EMPLOYEE),
            tag="employees",
        ),
    ]
