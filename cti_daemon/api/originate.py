"""POST /api/v1/calls/originate — click to dial: `{"from_extension","to_number"}`, optionally `contact_id`.

The employee's phone rings first; the answer (201) comes when it rings, with the new call's id; it is
202 with status "starting" when the PBX has not reported the ringing within the confirmation time (follow
the id on `cti/calls/{call_id}`). 409 when the phone is offline, busy or refused the call.

`contact_id` (CONTRACT, "Added in turn 2"): the contact this call answers (a missed caller called back).
The contact must exist (404 before anything is dialled); once the phone rings, the contact gets a note
"called back: call {call_id} from {extension}" (so its history links the two), and the answer repeats
`contact_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from cti_daemon.api.access import limited_to_own, not_yours
from cti_daemon.api.contacts import journal_call
from cti_daemon.api.errors import bad_request
from cti_daemon.api.routes import ACTOR, Route, json_body, ok
from cti_daemon.api.transfers import api_error
from cti_daemon.routing.call_actions import CallActionError
from cti_daemon.routing.click_to_dial import Dialled

_FIELDS = ("from_extension", "to_number", "contact_id")


class Dialler(Protocol):
    async def dial(self, from_extension: str, to_number: str, actor: str) -> Dialled: ...


class CallbackJournal(Protocol):
    """The journal's part in a call back: the answered contact exists, and gets the link as a note."""

    async def get(self, contact_id: str) -> Any: ...

    async def note(self, contact_id: str, text: str, actor: str) -> Any: ...


DIALLED: dict[str, Any] = {
    "type": "object",
    "required": ["call_id", "from_extension", "employee_id", "to_number", "status"],
    "properties": {
        "call_id": {"type": "string"},
        "from_extension": {"type": "string"},
        "employee_id": {"type": ["string", "null"]},
        "to_number": {"type": "string"},
        "status": {"enum": ["starting", "ringing", "answered"]},
        "contact_id": {"type": "string"},
    },
}

BODY: dict[str, Any] = {
    "type": "object",
    "required": ["from_extension", "to_number"],
    "properties": {
        "from_extension": {"type": "string", "minLength": 1, "maxLength": 32},
        "to_number": {"type": "string", "minLength": 1, "maxLength": 40},
        "contact_id": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    "additionalProperties": False,
}


def as_json(dialled: Dialled) -> dict[str, Any]:
    return {
        "call_id": dialled.call_id,
        "from_extension": dialled.from_extension,
        "employee_id": dialled.employee_id,
        "to_number": dialled.to_number,
        "status": dialled.status,
    }


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if value is None:
        raise bad_request(f"{name} is required", field=name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise bad_request(f"{name} must be text of 1 to {limit} characters", field=name)
    return value.strip()


def routes(
    dialler: Dialler,
    owner_of: Callable[[str], str | None] = lambda _ext: None,
    journal: CallbackJournal | None = None,
) -> list[Route]:
    """`owner_of`: extension -> the employee whose phone it is (a signed-in employee dials from theirs);
    `journal`: where `contact_id` is checked and linked (without one, contact_id is refused)."""

    async def originate(request: web.Request) -> web.Response:
        body = await json_body(request)
        for name in body:
            if name not in _FIELDS:
                raise bad_request(
                    f"unknown field {name!r}: send from_extension, to_number (and contact_id)", field=name
                )
        from_extension, to_number = _text(body, "from_extension", 32), _text(body, "to_number", 40)
        contact_id = _text(body, "contact_id", 64) if "contact_id" in body else None
        own = limited_to_own(request)
        if own is not None and owner_of(from_extension) != own.employee_id:
            raise not_yours(own, f"the phone at {from_extension}")
        if contact_id is not None:
            if journal is None:
                raise bad_request("this daemon cannot link a call to a contact", field="contact_id")
            await journal_call(journal.get(contact_id))  # 404 before the phone rings
        try:
            dialled = await dialler.dial(from_extension, to_number, request[ACTOR])
        except CallActionError as exc:
            raise api_error(exc) from None
        answer = as_json(dialled)
        if contact_id is not None and journal is not None:
            text = f"called back: call {dialled.call_id} from {from_extension} to {dialled.to_number}"
            await journal_call(journal.note(contact_id, text, request[ACTOR]))
            answer["contact_id"] = contact_id
        return ok(answer, status=202 if dialled.status == "starting" else 201)

    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    answered = {"content": {"application/json": {"schema": DIALLED}}}
    return [
        Route(
            "POST",
            "/api/v1/calls/originate",
            originate,
            "Click to dial: ring the employee's phone, then dial the number from it",
            {
                "201": {"description": "the employee's phone rings (or already answered)", **answered},
                "202": {"description": "asked; the ringing is not reported yet: follow call_id", **answered},
                "409": {"description": "the phone is offline, busy, or did not take the call", **error},
                "502": {"description": "the PBX refused the Originate", **error},
                "504": {"description": "the PBX did not answer the Originate in time", **error},
            },
            request_body=BODY,
            tag="calls",
        )
    ]
