"""Issue 14, item 5: the call report's cache of closed days (crm/report_cache.py) and the trigger that
drops a day from it whenever a contact of that day is written, whoever writes (the journal, the PBX's
facts, a callback, retention, an import, SQL by hand).

The day is the UTC day of `created_at`, computed as the report computes it: on SQLite the first ten
characters of SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff' text, on PostgreSQL the date of the timestamp at
UTC. An UPDATE drops the days before and after (a changed created_at moves a contact between days).

PostgreSQL: the trigger also takes a shared advisory lock that a fill takes exclusively (both for the rest
of their transactions), so a day is never computed while a write to contacts is in flight and stored
after it (the write's DELETE would have found nothing yet). On SQLite a fill begins with a write, and
SQLite has one writer at a time.

A later migration that rebuilds `contacts` in batch mode (copy and rename) on SQLite drops these
triggers with the table and must create them again (SQLITE_TRIGGERS).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# As crm/report_cache.py takes it (a migration keeps its own copy: it must not change with the code).
ADVISORY_KEY = (1129597233, 7)  # 'CTI1' in ASCII, migration 0007
# The contact columns the report reads (models.Contact, migration 0006's index).
REPORT_COLUMNS = (
    "type, direction, created_at, outcome, answered_by, responsible_employee_id, purpose, "
    "answer_s, talk_s, callback_kind, callback_s"
)


def _sqlite_drop(days: str) -> str:
    # Constant text: `days` is one of this module's SQL expressions.
    return (
        f"DELETE FROM call_report_cached_days WHERE day IN ({days});\n"  # noqa: S608
        f"DELETE FROM call_report_days WHERE day IN ({days});"
    )


_OLD, _NEW = "substr(old.created_at, 1, 10)", "substr(new.created_at, 1, 10)"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER contacts_report_cache_ai AFTER INSERT ON contacts BEGIN\n{_sqlite_drop(_NEW)}\nEND",
    f"CREATE TRIGGER contacts_report_cache_au AFTER UPDATE OF {REPORT_COLUMNS} ON contacts BEGIN\n"
    f"{_sqlite_drop(f'{_OLD}, {_NEW}')}\nEND",
    f"CREATE TRIGGER contacts_report_cache_ad AFTER DELETE ON contacts BEGIN\n{_sqlite_drop(_OLD)}\nEND",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS contacts_report_cache_{op_}" for op_ in ("ai", "au", "ad")]

PG_FUNCTION = f"""CREATE FUNCTION call_report_cache_drop_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    days date[];
BEGIN
    -- Waits while a fill computes a day; a fill waits for this transaction (crm/report_cache.py).
    PERFORM pg_advisory_xact_lock_shared{ADVISORY_KEY};
    IF TG_OP = 'INSERT' THEN
        days := ARRAY[(NEW.created_at AT TIME ZONE 'UTC')::date];
    ELSIF TG_OP = 'DELETE' THEN
        days := ARRAY[(OLD.created_at AT TIME ZONE 'UTC')::date];
    ELSE
        days := ARRAY[(OLD.created_at AT TIME ZONE 'UTC')::date, (NEW.created_at AT TIME ZONE 'UTC')::date];
    END IF;
    DELETE FROM call_report_cached_days WHERE day = ANY (days);
    DELETE FROM call_report_days WHERE day = ANY (days);
    RETURN NULL;
END
$$"""  # noqa: S608 - constant text: the lock's key is this module's
PG_TRIGGER = (
    f"CREATE TRIGGER contacts_report_cache AFTER INSERT OR DELETE OR UPDATE OF {REPORT_COLUMNS} "
    "ON contacts FOR EACH ROW EXECUTE FUNCTION call_report_cache_drop_days()"
)
PG_DROP = [
    "DROP TRIGGER IF EXISTS contacts_report_cache ON contacts",
    "DROP FUNCTION IF EXISTS call_report_cache_drop_days()",
]


def upgrade() -> None:
    op.create_table(
        "call_report_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("grouping", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        *(sa.Column(n, sa.Integer, nullable=False) for n in ("offered", "answered", "missed", "abandoned")),
        sa.Column("talk_sum", sa.BigInteger, nullable=False),
        sa.Column("talk_n", sa.Integer, nullable=False),
        sa.Column("callbacks", sa.Integer, nullable=False),
        sa.Column("answer_p50_s", sa.Integer),
        sa.Column("answer_p90_s", sa.Integer),
        sa.Column("callback_p50_s", sa.Integer),
        sa.Column("answer_hist", sa.Text),
        sa.Column("callback_hist", sa.Text),
    )
    op.create_table(
        "call_report_cached_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("grouping", sa.String(8), primary_key=True),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=False),
    )
    statements = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else [PG_FUNCTION, PG_TRIGGER]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DROP if op.get_bind().dialect.name == "sqlite" else PG_DROP:
        op.execute(statement)
    op.drop_table("call_report_cached_days")
    op.drop_table("call_report_days")
