"""GET /api/v1/lookup?number= — who owns a number: the `customer`/`candidates` of the screen pop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError, bad_request
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, ok, query_text
from cti_daemon.crm.identify import Identification
from cti_daemon.crm.numbers import NumberKind
from cti_daemon.outbound import payloads

IdentifyFn = Callable[[str], Awaitable[Identification]]

# Identifier.identify reports a store outage in the reason rather than raising (a pop must still go out);
# over HTTP it is a 503, not an empty answer.
STORE_DOWN = "customer store unavailable"

CUSTOMER = {"type": "object", "required": ["id", "name"], "additionalProperties": True}
ANSWER = {
    "type": "object",
    "required": ["number", "identified", "reason", "customer", "candidates"],
    "properties": {
        "number": {
            "type": "object",
            "properties": {"raw": {"type": "string"}, "e164": {"type": ["string", "null"]}},
        },
        "identified": {"type": "boolean"},
        "customer_guess": {
            "type": "boolean",
            "description": "several customers own the number: customer is the most likely, not confirmed",
        },
        "reason": {"type": ["string", "null"]},
        "customer": {"oneOf": [CUSTOMER, {"type": "null"}]},
        "candidates": {"type": "array", "items": CUSTOMER},
    },
}


def answer(ident: Identification) -> dict[str, Any]:
    card = ident.customer
    return {
        "number": {"raw": ident.number.raw, "e164": ident.number.e164, "kind": ident.number.kind.value},
        "identified": ident.identified,
        "reason": ident.reason,
        "customer": payloads.customer(card) if card is not None else None,
        "customer_guess": ident.customer_guess,
        "candidates": [payloads.customer(c) for c in ident.candidates] if len(ident.candidates) > 1 else [],
    }


def routes(identify: IdentifyFn) -> list[Route]:
    async def lookup(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        number = query_text(request, "number", max_len=64)
        assert number is not None
        ident = await identify(number)
        if ident.number.kind is NumberKind.INVALID:
            raise bad_request(f"number: {ident.number.reason}", field="number")
        if ident.reason is not None and ident.reason.startswith(STORE_DOWN):
            raise ApiError(503, "store_unavailable", "the customer store is unavailable; try again")
        return ok(answer(ident))

    return [
        Route(
            "GET",
            "/api/v1/lookup",
            lookup,
            "Identify one number as the screen pop would (a withheld or internal number is not an error)",
            {
                "200": {
                    "description": "the identification",
                    "content": {"application/json": {"schema": ANSWER}},
                }
            },
            parameters=[
                {
                    "name": "number",
                    "in": "query",
                    "required": True,
                    "description": "as dialled or as the PBX sends it: 89161234567, +7 916 123-45-67, ...",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                }
            ],
            tag="customers",
        )
    ]
