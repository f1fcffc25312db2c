"""Where a database URL points, in words a log line can carry: a SQLite file's absolute path, PostgreSQL's
host and database (never the user or password)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

SQLITE_SCHEME = "sqlite+aiosqlite://"


def _sqlite_database(url: str) -> str | None:
    """The database part of a SQLite URL (None: not SQLite, or in memory), without its ?query."""
    if not url.startswith(SQLITE_SCHEME):
        return None
    rest = url[len(SQLITE_SCHEME) :].split("?", 1)[0]
    database = rest[1:] if rest.startswith("/") else rest
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def relative_sqlite_path(url: str) -> str | None:
    database = _sqlite_database(url)
    return database if database is not None and not database.startswith("/") else None


def store_location(url: str) -> str:
    """What a log line says about the store: a SQLite file's absolute path, PostgreSQL's host and database
    (never the user or password), or "in memory"."""
    database = _sqlite_database(url)
    if database is not None:
        return str(Path(database).resolve())
    if url.startswith(SQLITE_SCHEME):
        return "SQLite in memory"
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"PostgreSQL {parts.hostname or 'localhost'}{port}{parts.path or '/'}"
