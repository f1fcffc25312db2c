"""GET /api/v1/purposes: the purposes of contacts, their second level and their employees."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from cti_daemon.api.routes import Route, ok
from cti_daemon.crm.purposes import PurposeCatalog


def routes(catalog: Callable[[], PurposeCatalog]) -> list[Route]:
    async def listing(_request: web.Request) -> web.Response:
        return ok(
            {
                "purposes": [
                    {
                        "code": p.code,
                        "name": p.name,
                        "subs": [{"code": s.code, "name": s.name} for s in p.subs],
                        "employees": list(p.members),
                    }
                    for p in catalog().purposes.values()
                ]
            }
        )

    schema = {"type": "object", "required": ["purposes"], "properties": {"purposes": {"type": "array"}}}
    return [
        Route(
            "GET",
            "/api/v1/purposes",
            listing,
            "Purposes (service, showroom, shop, feedback, other), their second level and employees",
            {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}},
            tag="journal",
        )
    ]
