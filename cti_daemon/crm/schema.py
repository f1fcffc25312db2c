"""Creating and migrating the store's schema with alembic, on a connection the store hands over.

A database made by the spine's `create_all` (tables, no `alembic_version`) is recognised and stamped at
revision 0001, which is exactly that schema, then upgraded like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

MIGRATIONS = Path(__file__).with_name("migrations")
SPINE_REVISION = "0001"


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    before: str | None  # None: an empty database
    after: str
    adopted: bool  # a spine database (create_all, no revision) was taken over

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None  # the package ships its migrations
    return rev


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, target: str = "head") -> UpgradeResult:
    """Run on a connection outside any transaction; each migration commits on its own."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations copy a table and drop the old one; with foreign keys on, that drop would
        # cascade into the rows that reference it. The check after the migrations puts the guard back.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        tables = set(inspect(connection).get_table_names())
        before = current(connection)
        adopted = before is None and "customers" in tables
        cfg = alembic_config(connection)
        if adopted:
            command.stamp(cfg, SPINE_REVISION)
            before = SPINE_REVISION
        command.upgrade(cfg, target)
        if connection.in_transaction():
            connection.commit()
        after = current(connection) or ""
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"foreign keys broken after migrating: {broken[:5]}")
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    return UpgradeResult(before, after, adopted)
