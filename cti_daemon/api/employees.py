"""GET /api/v1/employees and /api/v1/employees/{id} — who works here, their line, presence and load.

Presence, logged-in state and open contacts come from parts not built yet (issue 5): they are null until
a `PresenceSource` is given, so clients can already read the shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError, not_found
from cti_daemon.api.routes import Route, ok, path_text
from cti_daemon.crm.staff import StaffRow
from cti_daemon.crm.store import StoreUnavailableError


@dataclass(frozen=True, slots=True)
class PresenceView:
    status: str | None
    note: str | None
    logged_in: bool | None
    open_contacts: int | None


StaffSource = Callable[[], Awaitable[list[StaffRow]]]
LineStatusOf = Callable[[str], str]  # extension -> line status
PresenceOf = Callable[[str], PresenceView | None]  # employee id -> presence (None: not known)

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
    },
}


def routes(staff: StaffSource, line_status: LineStatusOf, presence: PresenceOf | None = None) -> list[Route]:
    def as_json(row: StaffRow) -> dict[str, Any]:
        seen = presence(row.id) if presence is not None else None
        return {
            "id": row.id,
            "name": row.name,
            "login": row.login,
            "extension": row.extension,
            "purposes": row.purposes,
            "line_status": line_status(row.extension) if row.extension else None,
            "presence": {"status": seen.status, "note": seen.note} if seen is not None else None,
            "logged_in": seen.logged_in if seen is not None else None,
            "open_contacts": seen.open_contacts if seen is not None else None,
        }

    async def rows() -> list[StaffRow]:
        try:
            return await staff()
        except StoreUnavailableError as exc:
            raise ApiError(503, "store_unavailable", "the store is unavailable; try again") from exc

    async def list_employees(_request: web.Request) -> web.Response:
        return ok({"employees": [as_json(r) for r in await rows()]})

    async def one_employee(request: web.Request) -> web.Response:
        employee_id = path_text(request, "employee_id")
        for row in await rows():
            if row.id == employee_id:
                return ok(as_json(row))
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
            "Employees: extension, purposes, line status, presence, logged in, open contacts",
            answer(listing),
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
