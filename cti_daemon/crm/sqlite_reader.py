"""The ring path's read connection to an SQLite store: plain sqlite3, read on the event loop itself.

Through aiosqlite and the ORM, one indexed lookup costs about 0.27 ms (a thread hop per statement plus the
greenlet). The whole card (three or four indexed statements) costs about 35 µs of plain sqlite3 on a warm
page cache, less than a single hop to a worker thread and back, which under a loaded daemon took 0.4 ms at
the median (measured with bench/ring_to_pop.py). So reads run inline. Several reads slower than `slow_ms`
in a short while (a cold page cache on a spinning disk, a disk stall; one alone is more likely the process
being descheduled on a busy machine) mean the store is not in memory: for the next `cooldown_s` reads go
through a worker thread instead, so a slow disk cannot freeze every call's pop. `slow_ms` is 20: a card
from a cold SSD takes a millisecond or two (inline is still cheaper than the hop), and on a shared
2-core machine the process alone was descheduled for 5-8 ms often enough to trip a 5 ms threshold.
Each path has its own connection (sqlite3 connections are not shared between threads here), opened
`query_only`, and reopened after an error. It belongs to the Store, which closes it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from cti_daemon import logs

T = TypeVar("T")
log = logs.get("cti.crm.sqlite")


class SqliteReadError(Exception):
    """The database file cannot be opened or read."""


class _Connection:
    def __init__(self, uri: str) -> None:
        self._uri = uri
        self._conn: sqlite3.Connection | None = None

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._uri, uri=True, check_same_thread=False, isolation_level=None
                )
                self._conn.execute("PRAGMA query_only=ON")
                self._conn.execute("PRAGMA busy_timeout=2000")

            return fn(self._conn)
        except sqlite3.Error as exc:
            self.close()
            raise SqliteReadError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class SqliteReader:
    def __init__(
        self,
        path: str,
        *,
        slow_ms: float = 20.0,
        slow_count: int = 3,
        window_s: float = 10.0,
        cooldown_s: float = 30.0,
    ) -> None:
        uri = Path(path).expanduser().resolve().as_uri() + "?mode=rw"
        self._inline = _Connection(uri)  # used only on the event loop's thread
        self._threaded = _Connection(uri)  # used only on the executor's one thread
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cti-sqlite-read")
        self._slow_s = slow_ms / 1000
        self._slow_count = slow_count
        self._window_s = window_s
        self._cooldown_s = cooldown_s
        self._slow: deque[float] = deque(maxlen=slow_count)
        self._threaded_until = 0.0
        self.inline_reads = 0
        self.threaded_reads = 0

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        done = self.run_now(fn)
        if done is not None:
            return done[0]
        self.threaded_reads += 1
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._threaded.call, fn)

    def run_now(self, fn: Callable[[sqlite3.Connection], T]) -> tuple[T] | None:
        """`(result,)` read inline at once; None while reads go through the thread (use `run`)."""
        started = time.monotonic()
        if started < self._threaded_until:
            return None
        self.inline_reads += 1
        result = self._inline.call(fn)
        now = time.monotonic()
        if now - started > self._slow_s:
            self._slow.append(now)
            if len(self._slow) == self._slow_count and now - self._slow[0] < self._window_s:
                self._threaded_until = now + self._cooldown_s
                self._slow.clear()
                log.warning(
                    "store.slow_reads",
                    took_ms=round((now - started) * 1000, 1),
                    slow=self._slow_count,
                    within_s=self._window_s,
                    effect="reads go through a thread",
                    for_s=self._cooldown_s,
                )
        return (result,)

    async def close(self) -> None:
        self._inline.close()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._threaded.close)
        self._executor.shutdown(wait=True)
