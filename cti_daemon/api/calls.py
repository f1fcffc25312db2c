"""GET /api/v1/calls and /api/v1/calls/{call_id} — calls in progress: parties, state, where they ring.

The handler reads a `CallSource` (a plain function returning `CallView`s) so whatever tracks calls can
feed it; app.py adapts the tracker to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from cti_daemon.api.errors import not_found
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, ok, path_text


@dataclass(frozen=True, slots=True)
class CallView:
    call_id: str
    caller_number: str | None
    caller_name: str | None
    state: str  # ringing | talking | dialing (up, not yet at one of our lines)
    ringing: list[str] = field(default_factory=list)  # extensions ringing now
    talking: list[str] = field(default_factory=list)  # extensions in the call, answered
    contact_id: str | None = None  # the journal's contact, once issue 5 links it


CallSource = Callable[[], list[CallView]]

CALL = {
    "type": "object",
    "required": ["call_id", "caller", "state", "ringing", "talking", "contact_id"],
    "properties": {
        "call_id": {"type": "string"},
        "caller": {
            "type": "object",
            "properties": {"number": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]}},
        },
        "state": {"enum": ["ringing", "talking", "dialing"]},
        "ringing": {"type": "array", "items": {"type": "string"}},
        "talking": {"type": "array", "items": {"type": "string"}},
        "contact_id": {"type": ["string", "null"]},
    },
}


def as_json(call: CallView) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "caller": {"number": call.caller_number, "name": call.caller_name},
        "state": call.state,
        "ringing": call.ringing,
        "talking": call.talking,
        "contact_id": call.contact_id,
    }


def routes(calls: CallSource) -> list[Route]:
    async def list_calls(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        return ok({"calls": [as_json(c) for c in calls()]})

    async def one_call(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        call_id = path_text(request, "call_id")
        for call in calls():
            if call.call_id == call_id:
                return ok(as_json(call))
        raise not_found(f"no call {call_id} in progress", field="call_id")

    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}

    listing = {
        "type": "object",
        "required": ["calls"],
        "properties": {"calls": {"type": "array", "items": CALL}},
    }
    return [
        Route("GET", "/api/v1/calls", list_calls, "Calls in progress", answer(listing), tag="calls"),
        Route("GET", "/api/v1/calls/{call_id}", one_call, "One call in progress", answer(CALL), tag="calls"),
    ]
