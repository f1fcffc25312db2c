"""POST /api/v1/calls/{call_id}/transfer, GET /api/v1/transfers/{id}, POST .../complete and .../cancel.

A transfer is answered once the PBX reports the target ringing (201); then followed here until it is
completed, abandoned or failed. Refusals: 400 bad body, 404 unknown target or transfer, 409 the call or
the target cannot take it now (the call stays where it was), 502 the PBX refused or the transfer failed,
503 no AMI session, 504 the PBX did not confirm in time.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from cti_daemon.api.access import limited_to_own, not_yours
from cti_daemon.api.errors import ApiError, bad_request
from cti_daemon.api.principal import principal_of
from cti_daemon.api.routes import ACTOR, Route, json_body, ok, path_text
from cti_daemon.routing.call_actions import CallActionError, Refusal
from cti_daemon.routing.transfer_book import Transfer
from cti_daemon.routing.transfers import TransferRequest
from cti_daemon.timefmt import iso

STATUS: dict[Refusal, int] = {
    "invalid": 400,
    "not_found": 404,
    "conflict": 409,
    "pbx_refused": 502,
    "unavailable": 503,
    "pbx_timeout": 504,
}
_FIELDS = ("to_employee", "to_extension", "mode", "confirm")


class Transfers(Protocol):
    """What the endpoints need of the transfer service (`routing.transfers.TransferService`)."""

    def get(self, transfer_id: str) -> Transfer | None: ...

    async def start(self, request: TransferRequest, actor: str) -> Transfer: ...

    async def complete(self, transfer_id: str, actor: str) -> Transfer: ...

    async def cancel(self, transfer_id: str, actor: str) -> Transfer: ...


def api_error(exc: CallActionError) -> ApiError:
    return ApiError(STATUS[exc.kind], exc.code, exc.message, field=exc.field, extra=exc.extra)


TRANSFER: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "call_id",
        "status",
        "mode",
        "from_extension",
        "to_extension",
        "to_employee_id",
        "reason",
        "contact_id",
        "started_at",
        "updated_at",
    ],
    "properties": {
        "id": {"type": "string"},
        "call_id": {"type": "string"},
        "status": {"enum": ["starting", "ringback", "answered", "completed", "abandoned", "failed"]},
        "mode": {"enum": ["blind", "attended"]},
        "from_extension": {"type": ["string", "null"]},
        "to_extension": {"type": "string"},
        "to_employee_id": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "contact_id": {"type": ["string", "null"]},
        "started_at": {"type": "string"},
        "updated_at": {"type": "string"},
    },
}

BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "to_employee": {"type": "string", "minLength": 1, "maxLength": 64},
        "to_extension": {"type": "string", "minLength": 1, "maxLength": 32},
        "mode": {"enum": ["blind", "attended"], "default": "blind"},
        "confirm": {"type": "boolean", "default": False},
    },
    "additionalProperties": False,
}


def as_json(transfer: Transfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "call_id": transfer.call_id,
        "status": str(transfer.status),
        "mode": transfer.mode,
        "from_extension": transfer.from_extension,
        "to_extension": transfer.to_extension,
        "to_employee_id": transfer.to_employee_id,
        "reason": transfer.reason,
        "contact_id": transfer.contact_id,
        "started_at": iso(transfer.started_at),
        "updated_at": iso(transfer.updated_at),
    }


def parse_request(call_id: str, body: dict[str, Any]) -> TransferRequest:
    for name in body:
        if name not in _FIELDS:
            message = f"unknown field {name!r}: send to_employee or to_extension, and mode"
            raise bad_request(message, field=name)
    given = [name for name in ("to_employee", "to_extension") if body.get(name) is not None]
    if len(given) != 1:
        named = given[-1] if given else None
        raise bad_request("give exactly one of to_employee and to_extension", field=named)
    target = given[0]
    value = body[target]
    limit = 64 if target == "to_employee" else 32
    if not isinstance(value, str) or not 0 < len(value) <= limit or any(_blank(c) for c in value):
        raise bad_request(f"{target} must be 1 to {limit} characters, no spaces", field=target)
    mode = body.get("mode", "blind")
    if mode not in ("blind", "attended"):
        raise bad_request('mode must be "blind" (the default) or "attended"', field="mode")
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        raise bad_request("confirm must be true or false", field="confirm")
    return TransferRequest(
        call_id,
        value if target == "to_employee" else None,
        value if target == "to_extension" else None,
        "attended" if mode == "attended" else "blind",
        confirm,
    )


def _blank(char: str) -> bool:
    return char.isspace() or not char.isprintable()


class Seats(Protocol):
    """Whose call and whose transfer it is, for an employee putting their own call through."""

    def extension_of(self, employee_id: str) -> str | None: ...

    def in_call(self, extension: str, call_id: str) -> bool: ...


def _own_extension(request: web.Request, seats: Seats, what: str) -> str | None:
    """None for reception and admin (the whole desk); an employee's own extension, or 403."""
    own = limited_to_own(request)
    if own is None:
        return None
    extension = seats.extension_of(own.employee_id or "")
    if extension is None:
        raise not_yours(own, what)
    return extension


def routes(transfers: Transfers, seats: Seats) -> list[Route]:
    def mine(request: web.Request, transfer_id: str) -> Transfer:
        extension = _own_extension(request, seats, f"transfer {transfer_id}")
        transfer = transfers.get(transfer_id)
        # An employee's transfers are those of their own line; another's answer as unknown (404).
        if transfer is None or (extension is not None and transfer.from_extension != extension):
            raise ApiError(404, "not_found", f"no transfer {transfer_id}", field="transfer_id")
        return transfer

    async def start(request: web.Request) -> web.Response:
        call_id = path_text(request, "call_id")
        # An employee puts through a call that rings or talks on their own line (their page's button).
        extension = _own_extension(request, seats, f"call {call_id}")
        if extension is not None and not seats.in_call(extension, call_id):
            raise not_yours(principal_of(request), f"call {call_id}")
        wanted = parse_request(call_id, await json_body(request))
        try:
            transfer = await transfers.start(wanted, request[ACTOR])
        except CallActionError as exc:
            raise api_error(exc) from None
        response = ok(as_json(transfer), status=201)
        response.headers["Location"] = f"/api/v1/transfers/{transfer.id}"
        return response

    async def one(request: web.Request) -> web.Response:
        return ok(as_json(mine(request, path_text(request, "transfer_id"))))

    async def complete(request: web.Request) -> web.Response:
        transfer = mine(request, path_text(request, "transfer_id"))
        try:
            return ok(as_json(await transfers.complete(transfer.id, request[ACTOR])))
        except CallActionError as exc:
            raise api_error(exc) from None

    async def cancel(request: web.Request) -> web.Response:
        transfer = mine(request, path_text(request, "transfer_id"))
        try:
            return ok(as_json(await transfers.cancel(transfer.id, request[ACTOR])))
        except CallActionError as exc:
            raise api_error(exc) from None

    return [
        Route(
            "POST",
            "/api/v1/calls/{call_id}/transfer",
            start,
            "Transfer a call to an employee or an extension (blind by default, or attended); answered once "
            "the target rings",
            _answers("201", "the target rings (status ringback; answered or completed if it was quick)"),
            request_body=BODY,
            tag="transfers",
        ),
        Route(
            "GET",
            "/api/v1/transfers/{transfer_id}",
            one,
            "One transfer and its status",
            {"200": _json("the transfer", TRANSFER)},
            tag="transfers",
        ),
        Route(
            "POST",
            "/api/v1/transfers/{transfer_id}/complete",
            complete,
            "Complete an attended transfer whose target answered: the caller joins the target",
            _answers("200", "completed: the caller talks with the target"),
            tag="transfers",
        ),
        Route(
            "POST",
            "/api/v1/transfers/{transfer_id}/cancel",
            cancel,
            "Cancel an attended transfer: the caller goes back to the transferer",
            _answers("200", "abandoned: the caller is back with the transferer"),
            tag="transfers",
        ),
    ]


def _json(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def _error(text: str) -> dict[str, Any]:
    return _json(text, {"$ref": "#/components/schemas/Error"})


def _answers(status: str, text: str) -> dict[str, Any]:
    return {
        status: _json(text, TRANSFER),
        "409": _error("the call, the target or the transfer cannot do this now; the message says why"),
        "502": _error("the PBX refused, or the transfer failed (the message names it)"),
        "504": _error("the PBX did not confirm in time"),
    }
