"""The ring path's read connection to an SQLite store: plain sqlite3 on one dedicated thread.

Through aiosqlite and the ORM, one indexed lookup costs about 0.27 ms (a thread hop per statement plus the
greenlet); here the whole card (three or four indexed statements) is read in one hop, in well under that.
The connection is opened read-write but `query_only`, on the thread that uses it, and reopened after an
error. It belongs to the Store, which closes it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SqliteReadError(Exception):
    """The database file cannot be opened or read."""


class SqliteReader:
    def __init__(self, path: str) -> None:
        self._uri = Path(path).expanduser().resolve().as_uri() + "?mode=rw"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cti-sqlite-read")
        self._conn: sqlite3.Connection | None = None  # touched only on the executor's thread

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            if self._conn is None:
                self._conn = self._open()
            return fn(self._conn)
        except sqlite3.Error as exc:
            self._close()
            raise SqliteReadError(f"{type(exc).__name__}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=2000")
        return conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
