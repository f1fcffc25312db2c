"""GET /api/v1/presence and PUT /api/v1/presence/{employee_id}: presence from a page (agents' MQTT clients
use cti/presence/{id}/set). Checked by the same rules; published retained on cti/presence/{id} for all.

An employee signed in sets only their own presence; reception and admin may set anyone's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError, bad_request
from cti_daemon.api.principal import Role, principal_of
from cti_daemon.api.routes import Route, json_body, ok, path_text
from cti_daemon.routing.presence import Presence, PresenceRefused
from cti_daemon.timefmt import iso


def _json(p: Presence) -> dict[str, Any]:
    return {
        "v": 1,
        "employee_id": p.employee_id,
        "status": p.status,
        "note": p.note or None,
        "client": p.client,
        "since": iso(p.since),
    }


def routes(
    *,
    statuses: Callable[[], tuple[str, ...]],
    everyone: Callable[[], list[Presence]],
    set_presence: Callable[[str, str, str | None], Presence],
) -> list[Route]:
    async def listing(_request: web.Request) -> web.Response:
        return ok({"statuses": list(statuses()), "presence": [_json(p) for p in everyone()]})

    async def put(request: web.Request) -> web.Response:
        employee_id = path_text(request, "employee_id")
        principal = principal_of(request)
        if principal.employee_id != employee_id and not principal.role.covers(Role.RECEPTION):
            raise ApiError(403, "forbidden", "setting another employee's presence needs the reception role")
        body = await json_body(request)
        unknown = sorted(set(body) - {"status", "note"})
        if unknown:
            raise bad_request(f"unknown field {unknown[0]!r}: send status and note", field=unknown[0])
        status, note = body.get("status"), body.get("note")
        if not isinstance(status, str) or not status.strip():
            raise bad_request("status is required", field="status")
        if note is not None and not isinstance(note, str):
            raise bad_request("note must be text", field="note")
        try:
            presence = set_presence(employee_id, status.strip(), note)
        except PresenceRefused as exc:
            raise bad_request(str(exc), field="status" if "status" in str(exc) else "note") from None
        return ok(_json(presence))

    schema = {
        "type": "object",
        "properties": {
            "employee_id": {"type": "string"},
            "status": {"type": "string"},
            "note": {"type": ["string", "null"]},
            "client": {"enum": ["online", "offline"]},
            "since": {"type": "string"},
        },
    }
    listing_schema = {
        "type": "object",
        "properties": {"statuses": {"type": "array"}, "presence": {"type": "array", "items": schema}},
    }
    body = {
        "type": "object",
        "required": ["status"],
        "additionalProperties": False,
        "properties": {"status": {"type": "string", "maxLength": 64}, "note": {"type": ["string", "null"]}},
    }
    param = {
        "name": "employee_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": 64},
    }
    answer = {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
    return [
        Route(
            "GET",
            "/api/v1/presence",
            listing,
            "The presence statuses one may choose, and everyone's presence",
            {"200": {"description": "ok", "content": {"application/json": {"schema": listing_schema}}}},
            tag="presence",
        ),
        Route(
            "PUT",
            "/api/v1/presence/{employee_id}",
            put,
            "Set an employee's presence (own; anyone's for reception): published on cti/presence/{id}",
            answer,
            parameters=[param],
            request_body=body,
            tag="presence",
        ),
    ]
