"""Is the daemon able to do its job: AMI, MQTT and the store, each up or down, and since when."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cti_daemon.timefmt import iso


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    is_up: Callable[[], bool]
    since: Callable[[], datetime]


class HealthProbe:
    def __init__(self, components: list[Component], store_check: Callable[[], Awaitable[bool]]) -> None:
        self._components = components
        self._store_check = store_check

    async def store_up(self) -> bool:
        try:
            return await asyncio.wait_for(self._store_check(), 2.0)
        except TimeoutError:
            return False

    async def report(self) -> dict[str, Any]:
        parts: dict[str, Any] = {c.name: {"up": c.is_up(), "since": iso(c.since())} for c in self._components}
        parts["database"] = {"up": await self.store_up()}
        healthy = all(p["up"] for p in parts.values())
        return {"status": "ok" if healthy else "degraded", **parts}
