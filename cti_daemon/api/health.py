"""Is the daemon able to do its job: AMI, MQTT and the store, each up or down, and since when."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from cti_daemon.api.routes import Route, ok
from cti_daemon.timefmt import iso


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    is_up: Callable[[], bool]
    since: Callable[[], datetime]
    details: Callable[[], dict[str, Any]] | None = None  # more fields of its part (AMI: why it is down)


class HealthProbe:
    def __init__(
        self,
        components: list[Component],
        store_check: Callable[[], Awaitable[bool]],
        *,
        extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._components = components
        self._store_check = store_check
        self._extra = extra
        self.store_last_up: bool | None = None

    async def store_up(self) -> bool:
        try:
            up = await asyncio.wait_for(self._store_check(), 2.0)
        except TimeoutError:
            up = False
        self.store_last_up = up
        return up

    def states(self) -> dict[str, bool]:
        """Up or down per component without I/O: the store's is that of its last check."""
        out = {c.name: c.is_up() for c in self._components}
        out["database"] = bool(self.store_last_up)
        return out

    async def report(self) -> dict[str, Any]:
        parts: dict[str, Any] = {
            c.name: {"up": c.is_up(), "since": iso(c.since()), **(c.details() if c.details else {})}
            for c in self._components
        }
        parts["database"] = {"up": await self.store_up()}
        healthy = all(p["up"] for p in parts.values())
        body: dict[str, Any] = {"status": "ok" if healthy else "degraded", **parts}
        if self._extra is not None:
            body.update(self._extra())
        return body


_PART = {
    "type": "object",
    "required": ["up"],
    "properties": {"up": {"type": "boolean"}, "since": {"type": "string", "format": "date-time"}},
}
_AMI_PART = {
    "type": "object",
    "required": ["up"],
    "properties": {
        "up": {"type": "boolean", "description": "logged in, and Asterisk fully booted"},
        "since": {"type": "string", "format": "date-time"},
        "reason": {
            "enum": ["auth_failed", "unreachable", "booting", "silent", None],
            "description": "why AMI is not usable; null while it is",
        },
        "last_error": {"type": ["string", "null"], "description": "the last failure, kept after recovery"},
        "last_error_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_REPORT = {
    "type": "object",
    "required": ["status", "ami", "mqtt", "database"],
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "ami": _AMI_PART,
        "mqtt": _PART,
        "database": _PART,
        "node_id": {"type": "string"},
        "mqtt_outbox": {"type": "integer", "description": "messages waiting for the broker"},
        "journal_spool": {"type": "integer", "description": "journal writes waiting for the store"},
    },
}


def routes(probe: HealthProbe) -> list[Route]:
    async def healthz(_request: web.Request) -> web.Response:
        report = await probe.report()
        return ok(report, status=200 if report["status"] == "ok" else 503)

    def answer(text: str) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": _REPORT}}}

    return [
        Route(
            "GET",
            "/healthz",
            healthz,
            "AMI, MQTT and database state; 503 when one is down",
            {"200": answer("everything is up"), "503": answer("at least one part is down")},
            public=True,
            tag="operations",
        )
    ]
