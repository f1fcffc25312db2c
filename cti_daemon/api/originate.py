"""POST /api/v1/calls/originate — click to dial: `{"from_extension","to_number"}`.

The employee's phone rings first; the answer (201) comes when it rings, with the new call's id; it is
202 with status "starting" when the PBX has not reported the ringing within the confirmation time (follow
the id on `cti/calls/{call_id}`). 409 when the phone is offline, busy or refused the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from cti_daemon.api.access import limited_to_own, not_yours
from cti_daemon.api.errors import ApiError, bad_request, not_found
from cti_daemon.api.routes import ACTOR, Route, json_body, ok
from cti_daemon.api.transfers import api_error
from cti_daemon.crm.journal_store import ContactRecord
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.routing.call_actions import CallActionError
from cti_daemon.routing.click_to_dial import Dialled

_FIELDS = ("from_extension", "to_number", "contact_id")


class Dialler(Protocol):
    async def dial(self, from_extension: str, to_number: str, actor: str) -> Dialled: ...


class OutboundJournal(Protocol):
    """routing/outbound_contacts.py: the click to dial's contact in the journal."""

    async def answered_contact(self, contact_id: str) -> ContactRecord | None: ...

    async def register(
        self,
        *,
        call_id: str,
        to_number: str,
        employee_id: str | None,
        answers: ContactRecord | None,
        actor: str,
    ) -> ContactRecord: ...


DIALLED: dict[str, Any] = {
    "type": "object",
    "required": ["call_id", "from_extension", "employee_id", "to_number", "status"],
    "properties": {
        "call_id": {"type": "string"},
        "from_extension": {"type": "string"},
        "employee_id": {"type": ["string", "null"]},
        "to_number": {"type": "string"},
        "status": {"enum": ["starting", "ringing", "answered"]},
        "contact_id": {"type": ["string", "null"], "description": "the outbound contact in the journal"},
        "answers_contact_id": {"type": ["string", "null"]},
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
    journal: OutboundJournal | None = None,
) -> list[Route]:
    """`owner_of`: extension -> the employee whose phone it is (a signed-in employee dials from theirs)."""

    async def originate(request: web.Request) -> web.Response:
        body = await json_body(request)
        for name in body:
            if name not in _FIELDS:
                raise bad_request(
                    f"unknown field {name!r}: send from_extension, to_number and contact_id", field=name
                )
        from_extension, to_number = _text(body, "from_extension", 32), _text(body, "to_number", 40)
        answers_id = _text(body, "contact_id", 64) if body.get("contact_id") is not None else None
        own = limited_to_own(request)
        if own is not None and owner_of(from_extension) != own.employee_id:
            raise not_yours(own, f"the phone at {from_extension}")
        answers = None
        if answers_id is not None and journal is not None:
            try:
                answers = await journal.answered_contact(answers_id)
            except StoreUnavailableError as exc:
                raise ApiError(
                    503, "store_unavailable", f"the journal's store is unavailable ({exc})"
                ) from None
            if answers is None:
                raise not_found(f"no contact {answers_id}", field="contact_id")
        try:
            dialled = await dialler.dial(from_extension, to_number, request[ACTOR])
        except CallActionError as exc:
            raise api_error(exc) from None
        answer = as_json(dialled)
        if journal is not None:
            record = await journal.register(
                call_id=dialled.call_id,
                to_number=dialled.to_number,
                employee_id=dialled.employee_id,
                answers=answers,
                actor=request[ACTOR],
            )
            answer |= {"contact_id": record.id, "answers_contact_id": record.answers_contact_id}
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
