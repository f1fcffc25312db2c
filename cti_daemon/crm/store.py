"""The store adapter: one async engine, a session per unit of work, schema migrations, and the ring
path's lean read connection.

SQLite (aiosqlite) is the embedded default, PostgreSQL (asyncpg) the production one; both behind the same
SQLAlchemy models. Failures to reach the database surface as `StoreUnavailableError`. Every connection to
the database is made here: the engine's pool, and for SQLite one plain sqlite3 connection on a dedicated
thread (`sqlite_reader.py`) that identification reads through.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import selectinload

from cti_daemon.crm import schema
from cti_daemon.crm.models import Employee
from cti_daemon.crm.pg_reader import PgReader, PgReadError
from cti_daemon.crm.sqlite_reader import SqliteReader, SqliteReadError
from cti_daemon.line_owner import LineOwner

T = TypeVar("T")


class StoreError(Exception):
    """Base of the store's failures."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached or refused the connection."""


class Store:
    def __init__(
        self, engine: AsyncEngine, *, sqlite_path: str | None = None, pg_reader: PgReader | None = None
    ) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._reader = SqliteReader(sqlite_path) if sqlite_path else None
        self._pg_reader = pg_reader

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One unit of work. Connection failures become StoreUnavailableError; the rest propagate."""
        try:
            async with self.sessions() as session:
                yield session
        except (OperationalError, DBAPIError, OSError) as exc:
            if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not _is_connect_error(exc):
                raise
            raise StoreUnavailableError(_reason(exc)) from exc

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection for Core statements (the ring path on PostgreSQL); same failure mapping."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except (OperationalError, DBAPIError, OSError) as exc:
            if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not _is_connect_error(exc):
                raise
            raise StoreUnavailableError(_reason(exc)) from exc

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
        """True when the database answers a trivial query."""
        try:
            async with self.session() as session:
                await session.execute(text("SELECT 1"))
        except (StoreError, OSError):
            return False
        return True

    async def dispose(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        if self._pg_reader is not None:
            await self._pg_reader.close()
        await self.engine.dispose()


def open_store(
    url: str, *, echo: bool = False, lookup_timeout_s: float = 1.0, connect_timeout_s: float = 5.0
) -> Store:
    """Build the engine (lazy: nothing connects until first use). `lookup_timeout_s` bounds the ring
    path's PostgreSQL read (see `PgReader`); `connect_timeout_s` every other PostgreSQL connection attempt
    (asyncpg waits 60 s by default: a silent server would hold a journal write or an API call that long
    before the outage is noticed and the contact spooled)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite_path: str | None = None
    pg_reader: PgReader | None = None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            sqlite_path = database
    else:
        kwargs.update(
            pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"timeout": connect_timeout_s}
        )
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() == "postgresql":
        # The same host, user, password and options the engine's asyncpg connections get.
        _, connect_kwargs = engine.dialect.create_connect_args(engine.url)
        for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            connect_kwargs.pop(sqlalchemy_only, None)
        pg_reader = PgReader(dict(connect_kwargs), timeout_s=lookup_timeout_s)
    return Store(engine, sqlite_path=sqlite_path, pg_reader=pg_reader)


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


def _is_connect_error(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(s in text for s in ("connect", "connection", "unable to open", "closed", "timeout"))


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    # The DSN (and a password in it) must not leak into the message: keep the driver's first line only.
    return f"{type(orig).__name__}: {str(orig).splitlines()[0] if str(orig) else 'unavailable'}"
