"""The journal over HTTP: /api/v1/contacts — register, read, complete, note, postpone, finalize, missed.

Reception reaches the whole journal. A signed-in employee lists and reads their own contacts and their
purposes' (routing/visibility.py), takes one (status, responsible: themselves), notes, postpones and
finalizes it; registering, re-routing and marking missed are the desk's (403 naming reception).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiohttp import web

from cti_daemon.api import contact_input as read
from cti_daemon.api.access import limited_to_own, may_only_take, not_yours
from cti_daemon.api.errors import ApiError, bad_request, not_found
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import ACTOR, Route, json_body, ok, path_text, query_text
from cti_daemon.crm.journal_store import Filters
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.journal import JournalService
from cti_daemon.routing.journal_errors import (
    ContactConflict,
    ContactMissing,
    InvalidContact,
    JournalError,
    JournalUnavailable,
)
from cti_daemon.routing.visibility import contact_is_theirs

STATUSES = ["registered", "assigned", "in_progress", "finalized", "missed", "postponed", "open"]
_S = {"type": ["string", "null"], "maxLength": 200}
CALLER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": _S,
        "phone": {"type": ["string", "null"], "maxLength": 64},
        "note": {"type": ["string", "null"], "maxLength": 4000},
    },
}
REGISTER = {
    "type": "object",
    "required": ["type"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["call", "visit", "email", "chat", "other"]},
        "purpose": {"type": ["string", "null"], "maxLength": 24},
        "sub_purpose": {"type": ["string", "null"]},
        "customer_id": {"type": ["string", "null"], "maxLength": 64},
        "caller": CALLER,
        "tax_id": {"type": ["string", "null"], "maxLength": 32},
        "vehicle_id": {"type": ["string", "null"]},
        "document_number": {"type": ["string", "null"], "maxLength": 64},
        "responsible_employee_id": {"type": ["string", "null"], "maxLength": 64},
        "description": {"type": ["string", "null"], "maxLength": 4000},
        "call_id": {"type": ["string", "null"], "maxLength": 64},
        "transfer": {"type": "boolean"},
        "queued": {"type": "boolean"},
        "override": {"type": "boolean"},
        "confirm": {"type": "boolean"},
    },
}
PATCH = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        **{
            k: v
            for k, v in REGISTER["properties"].items()  # type: ignore[attr-defined]
            if k not in ("type", "call_id", "transfer", "queued", "confirm")
        },
        "purpose_group": {"type": ["string", "null"], "maxLength": 24},
        "status": {"enum": ["assigned", "in_progress"]},
        "version": {"type": "integer", "minimum": 1},
    },
}
CONTACT = {
    "type": "object",
    "required": ["v", "id", "type", "status", "created_at", "version"],
    "additionalProperties": True,
}
_WHEN = {"type": "string", "format": "date-time"}


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _fail(exc: JournalError) -> ApiError:
    if isinstance(exc, InvalidContact):
        return ApiError(
            400,
            "invalid",
            str(exc),
            field=exc.field,
            extra={"problems": [{"field": p.field, "message": p.message} for p in exc.problems]},
        )
    if isinstance(exc, ContactMissing):
        return not_found(str(exc), field=exc.field)
    if isinstance(exc, ContactConflict):
        extra = {"allowed": exc.allowed} if exc.allowed is not None else None
        code = exc.code or ("transition_not_allowed" if exc.allowed is not None else "changed_meanwhile")
        return ApiError(409, code, str(exc), field=exc.field, extra=extra)
    if isinstance(exc, JournalUnavailable):
        return ApiError(503, "store_unavailable", str(exc))
    return bad_request(str(exc), field=exc.field)


async def _run(work: Awaitable[Any]) -> Any:
    try:
        return await work
    except JournalError as exc:
        raise _fail(exc) from None


journal_call = _run  # the journal's errors as the API says them, for other endpoints (api/originate)


PurposesOf = Callable[[str], Collection[str]]  # employee id -> the purposes they take


class _Handlers:
    def __init__(self, journal: JournalService, max_page: int, purposes_of: PurposesOf) -> None:
        self._journal = journal
        self._max_page = max_page
        self._purposes_of = purposes_of

    async def _theirs_only(self, request: web.Request, contact_id: str) -> None:
        """403 unless the caller reaches the desk or the contact is theirs or their purposes'."""
        own = limited_to_own(request)
        if own is None or own.employee_id is None:
            return
        record = await _run(self._journal.get(contact_id))
        if not contact_is_theirs(record, own.employee_id, self._purposes_of(own.employee_id)):
            raise not_yours(own, f"contact {contact_id}")

    async def register(self, request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        reg = read.registration(await json_body(request))
        if reg.override:
            require(request, Role.ADMIN)  # giving a contact outside its purpose's group is the admin's
        actor = request[ACTOR]
        saved = await _run(self._journal.register(reg, actor))
        body = contact_json(saved.record, durable=saved.durable)
        if (
            reg.transfer
            and saved.durable
            and reg.call_id
            and reg.responsible_employee_id
            and self._journal.transfer
        ):
            body["transfer"] = await _transfer(
                self._journal.transfer, reg.call_id, reg.responsible_employee_id, actor, reg.confirm
            )
        status = 202 if not saved.durable else 201 if saved.created else 200
        return ok(body, status=status)

    async def listing(self, request: web.Request) -> web.Response:
        status = query_text(request, "status", required=False, max_len=16)
        if status is not None and status not in STATUSES:
            raise bad_request(f"status must be one of {', '.join(STATUSES)}", field="status")
        limit = _int(request, "limit", 50, 1, self._max_page)
        offset = _int(request, "offset", 0, 0, 1_000_000)
        raw_from = query_text(request, "from", required=False, max_len=40)
        raw_to = query_text(request, "to", required=False, max_len=40)
        filters = Filters(
            status=status,
            purpose=query_text(request, "purpose", required=False, max_len=24),
            employee=query_text(request, "employee", required=False, max_len=64),
            created_from=read.moment(raw_from, "from") if raw_from else None,
            created_to=read.moment(raw_to, "to") if raw_to else None,
            call_id=query_text(request, "call_id", required=False, max_len=64),
            customer=query_text(request, "customer", required=False, max_len=64),
            limit=limit,
            offset=offset,
        )
        own = limited_to_own(request)
        if own is not None and own.employee_id is not None:
            purposes = tuple(self._purposes_of(own.employee_id))
            filters = dataclasses.replace(filters, theirs=own.employee_id, their_purposes=purposes)
        records = await _run(self._journal.query(filters))
        return ok({"contacts": [contact_json(r) for r in records], "limit": limit, "offset": offset})

    async def one(self, request: web.Request) -> web.Response:
        contact_id = path_text(request, "contact_id")
        await self._theirs_only(request, contact_id)
        return ok(contact_json(await _run(self._journal.get(contact_id))))

    async def patch(self, request: web.Request) -> web.Response:
        contact_id = path_text(request, "contact_id")
        body = await json_body(request)
        may_only_take(request, body)
        await self._theirs_only(request, contact_id)
        change = read.change(body)
        if change.override:
            require(request, Role.ADMIN)
        return ok(contact_json(await _run(self._journal.change(contact_id, change, request[ACTOR]))))

    async def note(self, request: web.Request) -> web.Response:
        contact_id = path_text(request, "contact_id")
        await self._theirs_only(request, contact_id)
        body = await json_body(request)
        read.only(body, {"text"})
        text = read.text(body, "text", 4000, required=True)
        assert text is not None
        saved, durable = await _run(self._journal.note(contact_id, text, request[ACTOR]))
        note_json = {"id": saved.id, "author": saved.author, "at": saved.at.isoformat(), "text": saved.text}
        return ok(
            {"contact_id": contact_id, "note": note_json, "spooled": not durable},
            status=201 if durable else 202,
        )

    async def postpone(self, request: web.Request) -> web.Response:
        contact_id = path_text(request, "contact_id")
        await self._theirs_only(request, contact_id)
        body = await json_body(request)
        read.only(body, {"until", "reason", "to_employee", "to_purpose"})
        if "until" not in body:
            raise bad_request("until is required", field="until")
        until = read.moment(body["until"], "until")
        reason = read.text(body, "reason", 1000, required=True)
        to_employee = read.text(body, "to_employee", 64)
        to_purpose = read.text(body, "to_purpose", 24)
        if to_employee and to_purpose:
            raise bad_request("give to_employee or to_purpose, not both", field="to_purpose")
        record = await _run(
            self._journal.postpone(
                contact_id,
                until=until,
                reason=reason or "",
                to_employee=to_employee,
                to_purpose=to_purpose,
                actor=request[ACTOR],
            )
        )
        return ok(contact_json(record))

    async def finalize(self, request: web.Request) -> web.Response:
        contact_id = path_text(request, "contact_id")
        await self._theirs_only(request, contact_id)
        if request.can_read_body:
            read.only(await json_body(request), set())
        return ok(contact_json(await _run(self._journal.finalize(contact_id, request[ACTOR]))))

    async def missed(self, request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        contact_id = path_text(request, "contact_id")
        body = await json_body(request)
        read.only(body, {"reason"})
        reason = read.text(body, "reason", 1000, required=True)
        return ok(contact_json(await _run(self._journal.missed(contact_id, reason or "", request[ACTOR]))))


def routes(
    journal: JournalService, *, max_page: int = 200, purposes_of: PurposesOf = lambda _employee: ()
) -> list[Route]:
    h = _Handlers(journal, max_page, purposes_of)
    path = {
        "name": "contact_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": 64},
    }
    query = [
        {"name": "status", "in": "query", "schema": {"enum": STATUSES}},
        {"name": "purpose", "in": "query", "schema": {"type": "string", "maxLength": 24}},
        {"name": "employee", "in": "query", "schema": {"type": "string", "maxLength": 64}},
        {"name": "from", "in": "query", "schema": _WHEN},
        {"name": "to", "in": "query", "schema": _WHEN},
        {"name": "call_id", "in": "query", "schema": {"type": "string", "maxLength": 64}},
        {"name": "customer", "in": "query", "schema": {"type": "string", "maxLength": 64}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": max_page}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ]
    listing_schema = {
        "type": "object",
        "required": ["contacts"],
        "properties": {"contacts": {"type": "array", "items": CONTACT}},
    }
    saved = {
        "200": _json(CONTACT, "completed the contact the call's ring registered"),
        "201": _json(CONTACT, "registered"),
        "202": _json(CONTACT, "accepted while the store is away: spooled on disk, written when it is back"),
    }
    note_body = {
        "type": "object",
        "required": ["text"],
        "additionalProperties": False,
        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 4000}},
    }
    postpone_body = {
        "type": "object",
        "required": ["until", "reason"],
        "additionalProperties": False,
        "properties": {
            "until": _WHEN,
            "reason": {"type": "string", "minLength": 1, "maxLength": 1000},
            "to_employee": {"type": "string", "maxLength": 64},
            "to_purpose": {"type": "string", "maxLength": 24},
        },
    }
    missed_body = {
        "type": "object",
        "required": ["reason"],
        "additionalProperties": False,
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}},
    }
    base = "/api/v1/contacts"
    return [
        Route(
            "GET",
            base,
            h.listing,
            "The journal of inbound traffic, newest first",
            {"200": _json(listing_schema)},
            parameters=query,
            tag="journal",
        ),
        Route(
            "POST",
            base,
            h.register,
            "Register traffic (a call, a visit...); with call_id, complete the contact its ring registered",
            saved,
            request_body=REGISTER,
            tag="journal",
        ),
        Route(
            "GET",
            base + "/{contact_id}",
            h.one,
            "One contact with its notes and history",
            {"200": _json(CONTACT)},
            parameters=[path],
            tag="journal",
        ),
        Route(
            "PATCH",
            base + "/{contact_id}",
            h.patch,
            "Change purpose, customer, responsible employee or purpose "
            "group, or status (allowed transitions only)",
            {"200": _json(CONTACT)},
            parameters=[path],
            request_body=PATCH,
            tag="journal",
        ),
        Route(
            "POST",
            base + "/{contact_id}/notes",
            h.note,
            "Append a note (author and time set by the server)",
            {"201": _json({"type": "object"}), "202": _json({"type": "object"}, "spooled")},
            parameters=[path],
            request_body=note_body,
            tag="journal",
        ),
        Route(
            "POST",
            base + "/{contact_id}/postpone",
            h.postpone,
            "Postpone to a time, with a reason, to someone",
            {"200": _json(CONTACT)},
            parameters=[path],
            request_body=postpone_body,
            tag="journal",
        ),
        Route(
            "POST",
            base + "/{contact_id}/finalize",
            h.finalize,
            "Finalize (time and author set by the server)",
            {"200": _json(CONTACT)},
            parameters=[path],
            tag="journal",
        ),
        Route(
            "POST",
            base + "/{contact_id}/missed",
            h.missed,
            "Mark missed, with a reason",
            {"200": _json(CONTACT)},
            parameters=[path],
            request_body=missed_body,
            tag="journal",
        ),
    ]


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = query_text(request, name, required=False, max_len=12)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer", field=name) from None
    if not low <= value <= high:
        raise bad_request(f"{name} must be between {low} and {high}", field=name)
    return value


async def _transfer(
    start: Callable[[str, str, str, bool], Awaitable[dict[str, Any]]],
    call_id: str,
    employee_id: str,
    actor: str,
    confirm: bool,
) -> dict[str, Any]:
    """Seed 003's "Transfer" button: the contact is saved; the call is then put through. A failed transfer
    does not undo the registration: the answer says what happened to the call."""
    return await start(call_id, employee_id, actor, confirm)
