"""GET /api/v1/lines and /api/v1/lines/{extension} — every line and its status, as on cti/lines/#.

The list is the desk's (reception); a signed-in employee may read their own line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cti_daemon.ami.call_events import QueueMembership
from cti_daemon.api.access import limited_to_own, not_yours
from cti_daemon.api.errors import not_found
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, ok, path_text
from cti_daemon.outbound.payloads import queue_memberships


@dataclass(frozen=True, slots=True)
class LineView:
    extension: str
    status: str  # ready | ringing | talking | offline | unknown
    employee_id: str | None
    call_id: str | None
    queues: tuple[QueueMembership, ...] = ()


LineSource = Callable[[], list[LineView]]

LINE = {
    "type": "object",
    "required": ["extension", "status", "employee_id", "call_id", "queues"],
    "properties": {
        "extension": {"type": "string"},
        "status": {"enum": ["ready", "ringing", "talking", "offline", "unknown"]},
        "employee_id": {"type": ["string", "null"]},
        "call_id": {"type": ["string", "null"]},
        "queues": {
            "type": "object",
            "description": "The queues the line's phone is a member of, by queue name. A paused member "
            "takes no queue calls; that is not the line's status (a paused phone may be ready).",
            "additionalProperties": {
                "type": "object",
                "required": ["paused", "reason"],
                "properties": {"paused": {"type": "boolean"}, "reason": {"type": ["string", "null"]}},
            },
        },
    },
}


def as_json(line: LineView) -> dict[str, Any]:
    return {
        "extension": line.extension,
        "status": line.status,
        "employee_id": line.employee_id,
        "call_id": line.call_id,
        "queues": queue_memberships(line.queues),
    }


def routes(lines: LineSource) -> list[Route]:
    async def list_lines(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        return ok({"lines": [as_json(line) for line in lines()]})

    async def one_line(request: web.Request) -> web.Response:
        extension = path_text(request, "extension", max_len=32)
        own = limited_to_own(request)
        for line in lines():
            if line.extension == extension:
                if own is not None and line.employee_id != own.employee_id:
                    raise not_yours(own, f"line {extension}")
                return ok(as_json(line))
        if own is not None:  # an employee learns nothing of lines that are not theirs, not even absence
            raise not_yours(own, f"line {extension}")
        raise not_found(f"no line {extension}", field="extension")

    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}

    listing = {
        "type": "object",
        "required": ["lines"],
        "properties": {"lines": {"type": "array", "items": LINE}},
    }
    return [
        Route("GET", "/api/v1/lines", list_lines, "Every line and its status", answer(listing), tag="lines"),
        Route(
            "GET", "/api/v1/lines/{extension}", one_line, "One line and its status", answer(LINE), tag="lines"
        ),
    ]
