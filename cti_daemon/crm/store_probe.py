"""Is the database there: one statement on a connection of the probe's own, outside every pool.

/healthz and the systemd readiness must report the store's real state. Through the engine's pool they
reported "down" whenever the API kept every pooled connection busy (200 concurrent searches: 847 answers
503 while every search succeeded). The probe has its own connection budget: one connection, kept between
probes, replaced after any failure; concurrent callers share the probe in flight.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from cti_daemon.crm.pg_reader import READ_ERRORS


class PgProbe:
    def __init__(self, connect_kwargs: dict[str, Any], *, timeout_s: float) -> None:
        self._connect_kwargs = connect_kwargs
        self._timeout_s = timeout_s
        self._conn: asyncpg.Connection | None = None
        self._running: asyncio.Task[bool] | None = None

    async def __call__(self) -> bool:
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._probe())
        # Shielded: one caller giving up (its own deadline) must not cancel the probe the others wait for.
        return await asyncio.shield(self._running)

    async def _probe(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout_s):
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        timeout=self._timeout_s,
                        server_settings={"application_name": "cti-daemon probe"},
                        **self._connect_kwargs,
                    )
                await self._conn.fetchval("SELECT 1")
            return True
        except (TimeoutError, *READ_ERRORS):
            self.close()
            return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()


def sqlite_probe(
    read: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]],
) -> Callable[[], Awaitable[bool]]:
    """SQLite: the file answers a trivial statement on the store's own read connection (not the pool)."""

    async def probe() -> bool:
        await read(lambda conn: conn.execute("SELECT 1").fetchone())
        return True

    return probe
