"""GET /api/v1/customers?q= (any part of name, phone, VIN or plate) and /customers/{id} (the card)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cti_daemon.api.errors import ApiError, bad_request, not_found
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, ok, path_text, query_text
from cti_daemon.crm.cards import CustomerCards, CustomerDetail
from cti_daemon.crm.search import MAX_LIMIT, CustomerSearch, CustomerSummary, SearchError
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.outbound import payloads
from cti_daemon.timefmt import iso

_OBJ = {"type": "object", "additionalProperties": True}


def _summary(c: CustomerSummary) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "kind": c.kind,
        "tax_id": c.tax_id,
        "phones": c.phones,
        "vehicles": [
            {"id": v.id, "vin": v.vin, "plate": v.plate, "model": v.model, "year": v.year} for v in c.vehicles
        ],
        "matched": list(c.matched),
    }


def _detail(d: CustomerDetail) -> dict[str, Any]:
    body = payloads.customer(d.card)
    body["tax_id"] = d.tax_id
    body["phones"] = [{"raw": p.raw, "e164": p.e164, "kind": p.kind} for p in d.phones]
    body["history"] = {"last_contact_at": iso(d.card.last_contact_at), "contacts_90d": d.card.contacts_90d}
    body["recent_contacts"] = [
        {
            "id": c.id,
            "type": c.type,
            "status": c.status,
            "purpose": c.purpose,
            "created_at": iso(c.created_at),
            "responsible_employee_id": c.responsible_employee_id,
        }
        for c in d.recent_contacts
    ]
    return body


def _number(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = query_text(request, name, required=False, max_len=12)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise bad_request(f"{name} must be an integer from {low} to {high}", field=name)
    return int(raw)


def routes(search: CustomerSearch, cards: CustomerCards) -> list[Route]:
    async def find(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        q = query_text(request, "q", max_len=100)
        assert q is not None
        limit = _number(request, "limit", 20, 1, MAX_LIMIT)
        offset = _number(request, "offset", 0, 0, 100_000)
        try:
            page = await search.search(q, limit=limit, offset=offset)
        except SearchError as exc:
            raise bad_request(str(exc), field="q") from None
        except StoreUnavailableError:
            raise ApiError(503, "store_unavailable", "the customer store is unavailable; try again") from None
        return ok(
            {
                "customers": [_summary(c) for c in page.items],
                "limit": page.limit,
                "offset": page.offset,
                "has_more": page.has_more,
                "capped": page.capped,
                "total": page.total,
                "searched": list(page.fields),
            }
        )

    async def card(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        customer_id = path_text(request, "customer_id")
        try:
            detail = await cards.card(customer_id)
        except StoreUnavailableError:
            raise ApiError(503, "store_unavailable", "the customer store is unavailable; try again") from None
        if detail is None:
            raise not_found(f"no customer {customer_id}", field="customer_id")
        return ok(_detail(detail))

    found = {
        "type": "object",
        "required": ["customers"],
        "properties": {"customers": {"type": "array", "items": _OBJ}},
    }
    return [
        Route(
            "GET",
            "/api/v1/customers",
            find,
            "Search by any part of name, phone digits, VIN or plate; '=' for exact, '%' as in LIKE",
            {"200": {"description": "a page", "content": {"application/json": {"schema": found}}}},
            parameters=[
                {
                    "name": "q",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                },
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "maximum": 100000},
                },
            ],
            tag="customers",
        ),
        Route(
            "GET",
            "/api/v1/customers/{customer_id}",
            card,
            "The card: phones, vehicles, open documents, CRM status, recent contacts",
            {"200": {"description": "the card", "content": {"application/json": {"schema": _OBJ}}}},
            parameters=[
                {
                    "name": "customer_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 64},
                }
            ],
            tag="customers",
        ),
    ]
