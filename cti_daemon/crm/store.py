"""The store adapter: one async engine, a session per unit of work, schema migrations, and the ring
path's lean read connection.

SQLite (aiosqlite) is the embedded default, PostgreSQL (asyncpg) the production one; both behind the same
SQLAlchemy models. Every connection to the database is made here: the engine's pool, for SQLite one plain
sqlite3 connection on a dedicated thread (`sqlite_reader.py`) that identification reads through, and the
health probe's own connection (`store_probe.py`).

Whatever keeps the store from doing its work surfaces as `StoreUnavailableError` ("store away": the
journal spools, the API answers 503, health says so): the server refused, reset or did not answer within
the statement deadline, or no pooled connection came free in time. Only a refusal of the content itself
(SQLSTATE classes 22 and 23) propagates as the database's own error. A statement that ran out of time
also holds the store "away" for a moment (`HOLD_OFF_S`, or until the probe gets an answer), so that while
a server is silent every request does not wait out the deadline again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import selectinload

from cti_daemon import logs
from cti_daemon.crm import schema
from cti_daemon.crm.models import Employee
from cti_daemon.crm.pg_reader import PgReader, PgReadError
from cti_daemon.crm.sqlite_reader import SqliteReader, SqliteReadError
from cti_daemon.crm.store_probe import PgProbe, sqlite_probe
from cti_daemon.line_owner import LineOwner

T = TypeVar("T")
log = logs.get("cti.crm.store")

HOLD_OFF_S = 2.0  # after a statement ran out of time, the store counts as away this long (or until a probe)


class StoreError(Exception):
    """Base of the store's failures."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached or refused the connection."""


class Store:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        sqlite_path: str | None = None,
        pg_reader: PgReader | None = None,
        pg_probe: PgProbe | None = None,
    ) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._reader = SqliteReader(sqlite_path) if sqlite_path else None
        self._pg_reader = pg_reader
        self._pg_probe = pg_probe
        self._away_until = 0.0
        self._away_reason = ""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work. The store being away (see the module) is StoreUnavailableError."""
        self._raise_if_held_away()
        try:
            async with self.sessions() as session:
                try:
                    yield session
                except TimeoutError:
                    await session.invalidate()  # its connection waits on a cancel: never hand it out again
                    raise
        except (DBAPIError, OSError, PoolTimeoutError, DisconnectionError) as exc:
            raise self._away(exc) from exc

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection for Core statements; the same failure mapping."""
        self._raise_if_held_away()
        try:
            async with self.engine.connect() as conn:
                try:
                    yield conn
                except TimeoutError:
                    await conn.invalidate()
                    raise
        except (DBAPIError, OSError, PoolTimeoutError, DisconnectionError) as exc:
            raise self._away(exc) from exc

    def _away(self, exc: Exception) -> Exception:
        """The exception to raise for `exc`: StoreUnavailableError, or the database's refusal itself."""
        if isinstance(exc, DBAPIError) and refused_for_content(exc):
            return exc
        if isinstance(exc, PoolTimeoutError):
            return StoreUnavailableError("no free database connection in time (the pool is busy)")
        reason = _reason(exc)
        if isinstance(exc, TimeoutError):
            reason = "TimeoutError: the database did not answer in time"
            if time.monotonic() >= self._away_until:
                log.warning("store.not_answering", reason=reason, held_away_s=HOLD_OFF_S)
            self._away_until = time.monotonic() + HOLD_OFF_S
            self._away_reason = reason
        return StoreUnavailableError(reason)

    def _raise_if_held_away(self) -> None:
        if time.monotonic() < self._away_until:
            raise StoreUnavailableError(f"{self._away_reason} (held away for up to {HOLD_OFF_S:g} s)")

    async def pg_fetch(self, sql: str, *args: Any) -> list[Any]:
        """PostgreSQL only: the ring path's read, one statement straight on asyncpg (prepared and cached
        per connection) through the store's own small pool (`crm/pg_reader.py`), bounded in time."""
        if self._pg_reader is None:
            raise StoreError("no PostgreSQL read pool: this store is not a PostgreSQL database")
        try:
            return await self._pg_reader.fetch(sql, *args)
        except PgReadError as exc:
            raise StoreUnavailableError(str(exc)) from exc

    @property
    def has_sqlite_reader(self) -> bool:
        return self._reader is not None

    async def sqlite_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the SQLite read thread with its plain sqlite3 connection (read-only)."""
        if self._reader is None:
            raise StoreError("no SQLite read connection: this store is not a SQLite file")
        try:
            return await self._reader.run(fn)
        except SqliteReadError as exc:
            raise StoreUnavailableError(str(exc)) from exc

    def sqlite_read_now(self, fn: Callable[[sqlite3.Connection], T]) -> tuple[T] | None:
        """`(result,)` when the read can be made at once on the loop; None when it must be awaited
        (`sqlite_read`): not a SQLite file, or reads are going through the thread."""
        if self._reader is None:
            return None
        try:
            return self._reader.run_now(fn)
        except SqliteReadError as exc:
            raise StoreUnavailableError(str(exc)) from exc

    async def upgrade_schema(self) -> schema.UpgradeResult:
        """Create or migrate the schema to the newest revision (alembic; idempotent)."""
        async with self.connection() as conn:
            return await conn.run_sync(schema.upgrade)

    async def schema_revision(self) -> str | None:
        """The migration the database is at (None: empty, or made before the migrations)."""
        async with self.connection() as conn:
            return await conn.run_sync(schema.current)

    async def create_schema(self) -> None:
        """The same migrations as `cti-daemon db upgrade` (tests and the demo call this)."""
        await self.upgrade_schema()

    async def line_owners(self) -> list[LineOwner]:
        async with self.session() as session:
            rows = (await session.scalars(select(Employee).where(Employee.extension.is_not(None)))).all()
        return [LineOwner(e.id, e.extension or "", e.device_list()) for e in rows]

    async def employee_purposes(self) -> dict[str, tuple[str, ...]]:
        """employee id -> the purpose codes they take."""
        async with self.session() as session:
            rows = (
                await session.scalars(select(Employee).options(selectinload(Employee.purpose_links)))
            ).all()
        return {e.id: e.purpose_codes() for e in rows}

    async def ping(self) -> bool:
        """True when the database answers a trivial query on the probe's own connection (never the pool:
        a busy API is not a store that is down). An answer ends a hold-off at once."""
        probe: Callable[[], Awaitable[bool]]
        if self._pg_probe is not None:
            probe = self._pg_probe
        elif self._reader is not None:
            probe = sqlite_probe(self.sqlite_read)
        else:
            probe = self._pool_probe
        try:
            up = await probe()
        except (StoreError, OSError, DBAPIError):
            up = False
        if up:
            self._away_until = 0.0
        return up

    async def _pool_probe(self) -> bool:
        async with self.session() as session:
            await session.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        if self._pg_reader is not None:
            await self._pg_reader.close()
        if self._pg_probe is not None:
            self._pg_probe.close()
        await self.engine.dispose()


def open_store(
    url: str,
    *,
    echo: bool = False,
    lookup_timeout_s: float = 1.0,
    connect_timeout_s: float = 5.0,
    statement_timeout_s: float | None = None,
) -> Store:
    """Build the engine (lazy: nothing connects until first use). `lookup_timeout_s` bounds the ring
    path's PostgreSQL read (see `PgReader`); `connect_timeout_s` every other PostgreSQL connection attempt
    (asyncpg waits 60 s by default). `statement_timeout_s` (the daemon's; None for the command line, whose
    imports and migrations may run long) bounds each PostgreSQL statement, the wait for a pooled
    connection and the probe: a silent server would otherwise hold a journal write or an API call for the
    whole outage (56 s measured) before the contact is spooled."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite_path: str | None = None
    pg_reader: PgReader | None = None
    pg_probe: PgProbe | None = None
    if statement_timeout_s is not None:
        kwargs["pool_timeout"] = statement_timeout_s
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            sqlite_path = database
    else:
        if statement_timeout_s is not None:
            connect_timeout_s = min(connect_timeout_s, statement_timeout_s)
        connect_args: dict[str, Any] = {"timeout": connect_timeout_s}
        if statement_timeout_s is not None:
            connect_args["command_timeout"] = statement_timeout_s  # every statement, the pre-ping too
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() == "postgresql":
        # The same host, user, password and options the engine's asyncpg connections get.
        _, connect_kwargs = engine.dialect.create_connect_args(engine.url)
        for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            connect_kwargs.pop(sqlalchemy_only, None)
        pg_reader = PgReader(dict(connect_kwargs), timeout_s=lookup_timeout_s)
        pg_probe = PgProbe(dict(connect_kwargs), timeout_s=min(statement_timeout_s or 5.0, connect_timeout_s))
    return Store(engine, sqlite_path=sqlite_path, pg_reader=pg_reader, pg_probe=pg_probe)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the API read while the journal writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # 64 MiB of pages per connection (default 2 MiB): the search indexes of a large store stay in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def refused_for_content(exc: DBAPIError) -> bool:
    """The database refuses these values and will again (SQLSTATE class 22 data exception, 23 integrity
    constraint; SQLite's DataError, IntegrityError), as opposed to something that passes (a lock, a
    lost connection, a server shutting down)."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in ("22", "23")


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    # The DSN (and a password in it) must not leak into the message: keep the driver's first line only.
    return f"{type(orig).__name__}: {str(orig).splitlines()[0] if str(orig) else 'unavailable'}"
