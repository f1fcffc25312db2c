"""Follow-up calls over HTTP: POST/GET /api/v1/followups, GET /api/v1/followups/{id},
POST /api/v1/followups/{id}/attempts. Reception and admin reach them all and create them; an employee
sees and records attempts on their own and their purpose groups' (403 for another's)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from aiohttp import web

from cti_daemon.api import contact_input as read
from cti_daemon.api.access import limited_to_own, not_yours
from cti_daemon.api.errors import ApiError, bad_request, not_found
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import ACTOR, Route, json_body, ok, path_text, query_text
from cti_daemon.crm.followups_store import FollowUpRecord
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.routing.followup_rules import OUTCOMES, STATUSES, AttemptRefused
from cti_daemon.routing.followups import FollowUpMissing, FollowUps, NewFollowUp
from cti_daemon.timefmt import iso

PurposesOf = Callable[[str], Collection[str]]
_WHEN = {"type": "string", "format": "date-time"}
CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["phone", "reason", "due_at"],
    "additionalProperties": False,
    "properties": {
        "phone": {"type": "string", "minLength": 1, "maxLength": 64},
        "reason": {"type": "string", "minLength": 1, "maxLength": 1000},
        "due_at": _WHEN,
        "customer_id": {"type": ["string", "null"], "maxLength": 64},
        "employee_id": {"type": ["string", "null"], "maxLength": 64},
        "purpose": {"type": ["string", "null"], "maxLength": 24},
    },
}
ATTEMPT: dict[str, Any] = {
    "type": "object",
    "required": ["outcome"],
    "additionalProperties": False,
    "properties": {
        "outcome": {"enum": list(OUTCOMES)},
        "note": {"type": ["string", "null"], "maxLength": 4000},
        "next_due_at": _WHEN,
    },
}
FOLLOWUP: dict[str, Any] = {"type": "object", "required": ["id", "status", "due_at", "attempts"]}


def as_json(f: FollowUpRecord) -> dict[str, Any]:
    return {
        "id": f.id,
        "customer_id": f.customer_id,
        "phone": f.phone,
        "reason": f.reason,
        "due_at": iso(f.due_at),
        "employee_id": f.employee_id,
        "purpose": f.purpose_group,
        "status": f.status,
        "attempts": f.attempts,
        "created_at": iso(f.created_at),
        "created_by": f.created_by,
        "updated_at": iso(f.updated_at),
        "history": [
            {
                "at": iso(a.at),
                "actor": a.actor,
                "outcome": a.outcome,
                "note": a.note,
                "next_due_at": iso(a.next_due_at),
            }
            for a in f.history
        ],
    }


def _refused(exc: AttemptRefused) -> ApiError:
    if exc.conflict:
        return ApiError(409, "followup_closed", str(exc), field=exc.field)
    return bad_request(str(exc), field=exc.field)


def routes(followups: FollowUps, *, purposes_of: PurposesOf = lambda _e: ()) -> list[Route]:
    async def guarded(work: Any) -> Any:
        try:
            return await work
        except AttemptRefused as exc:
            raise _refused(exc) from None
        except FollowUpMissing as exc:
            raise not_found(str(exc), field="followup_id") from None
        except StoreUnavailableError as exc:
            raise ApiError(503, "store_unavailable", f"the store is unavailable ({exc})") from None

    async def theirs_only(request: web.Request, found: FollowUpRecord) -> None:
        own = limited_to_own(request)
        if own is None or own.employee_id is None:
            return
        mine = found.employee_id == own.employee_id or (
            found.employee_id is None and found.purpose_group in set(purposes_of(own.employee_id))
        )
        if not mine:
            raise not_yours(own, f"follow-up {found.id}")

    async def create(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        body = await json_body(request)
        read.only(body, set(CREATE["properties"]))
        if "due_at" not in body:
            raise bad_request("due_at is required", field="due_at")
        new = NewFollowUp(
            phone=read.text(body, "phone", 64, required=True) or "",
            reason=read.text(body, "reason", 1000, required=True) or "",
            due_at=read.moment(body["due_at"], "due_at"),
            customer_id=read.text(body, "customer_id", 64),
            employee_id=read.text(body, "employee_id", 64),
            purpose_group=read.text(body, "purpose", 24),
        )
        created = await guarded(followups.create(new, request[ACTOR]))
        return ok(as_json(created), status=201)

    async def listing(request: web.Request) -> web.Response:
        status = query_text(request, "status", required=False, max_len=16)
        if status is not None and status not in STATUSES:
            raise bad_request(f"status must be one of {', '.join(STATUSES)}", field="status")
        raw_due = query_text(request, "due_before", required=False, max_len=40)
        employee = query_text(request, "employee", required=False, max_len=64)
        purposes: tuple[str, ...] | None = None
        own = limited_to_own(request)
        if own is not None and own.employee_id is not None:
            employee, purposes = own.employee_id, tuple(purposes_of(own.employee_id))
        found = await guarded(
            followups.query(
                status=status,
                employee=employee,
                purposes=purposes,
                due_before=read.moment(raw_due, "due_before") if raw_due else None,
                limit=500,
            )
        )
        return ok({"followups": [as_json(f) for f in found]})

    async def one(request: web.Request) -> web.Response:
        found = await guarded(followups.get(path_text(request, "followup_id")))
        await theirs_only(request, found)
        return ok(as_json(found))

    async def attempt(request: web.Request) -> web.Response:
        followup_id = path_text(request, "followup_id")
        await theirs_only(request, await guarded(followups.get(followup_id)))
        body = await json_body(request)
        read.only(body, set(ATTEMPT["properties"]))
        outcome = read.text(body, "outcome", 24, required=True) or ""
        if outcome not in OUTCOMES:
            raise bad_request(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
        raw_next = body.get("next_due_at")
        after = await guarded(
            followups.attempt(
                followup_id,
                outcome,
                read.text(body, "note", 4000),
                read.moment(raw_next, "next_due_at") if raw_next is not None else None,
                request[ACTOR],
            )
        )
        return ok(as_json(after), status=201)

    def answer(text: str, status: str = "200") -> dict[str, Any]:
        return {status: {"description": text, "content": {"application/json": {"schema": FOLLOWUP}}}}

    path = {"name": "followup_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return [
        Route("POST", "/api/v1/followups", create, "Create a follow-up call", answer("created", "201"),
              request_body=CREATE, tag="followups"),
        Route("GET", "/api/v1/followups", listing, "Follow-up calls, soonest due first (an employee: theirs)",
              {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}},
              parameters=[
                  {"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}},
                  {"name": "employee", "in": "query", "schema": {"type": "string", "maxLength": 64}},
                  {"name": "due_before", "in": "query", "schema": _WHEN},
              ], tag="followups"),
        Route("GET", "/api/v1/followups/{followup_id}", one, "One follow-up with its attempts", answer("ok"),
              parameters=[path], tag="followups"),
        Route("POST", "/api/v1/followups/{followup_id}/attempts", attempt,
              "Record an attempt: reached, no_answer, busy, wrong_number, declined, call_back_later "
              "(with next_due_at)", answer("recorded", "201"), parameters=[path], request_body=ATTEMPT,
              tag="followups"),
    ]  # fmt: skip
