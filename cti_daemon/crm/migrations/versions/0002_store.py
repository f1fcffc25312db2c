"""The customer store of issue 4: search keys, purposes and their employees, the contact journal's
tables, and the search indexes (pg_trgm on PostgreSQL, an FTS5 trigram index on SQLite).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cti_daemon.crm.migrations import sqlite_search
from cti_daemon.crm.normalize import name_key, phone_key, plate_key, vin_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BUILTIN_PURPOSES = [
    ("service", "Service", 1),
    ("showroom", "Showroom", 2),
    ("shop", "Parts shop", 3),
    ("feedback", "Feedback", 4),
    ("other", "Other", 5),
]
# Trigram indexes: any-part search (LIKE '%frag%') on each search key.
PG_TRIGRAM_INDEXES = [
    ("ix_trgm_customers_name", "customers", "name_search"),
    ("ix_trgm_phones_digits", "phones", "digits"),
    ("ix_trgm_vehicles_vin", "vehicles", "vin"),
    ("ix_trgm_vehicles_plate", "vehicles", "plate_key"),
]


def upgrade() -> None:
    bind = op.get_bind()
    _search_keys()
    _backfill_keys(bind)
    _purposes(bind)
    _journal(bind)
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in PG_TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")
    else:
        for statement in sqlite_search.CREATE:
            op.execute(statement)


def _search_keys() -> None:
    with op.batch_alter_table("customers") as t:
        t.add_column(sa.Column("name_search", sa.String(300), nullable=False, server_default=""))
        t.add_column(sa.Column("updated_at", sa.DateTime(timezone=True)))
        t.create_index("ix_customers_name_search", ["name_search"])
    with op.batch_alter_table("phones") as t:
        t.add_column(sa.Column("digits", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("vehicles") as t:
        t.add_column(sa.Column("plate_key", sa.String(16)))
        t.create_index("ix_vehicles_plate_key", ["plate_key"])
    op.create_index("ix_documents_owner_employee_id", "documents", ["owner_employee_id"])


def _backfill_keys(bind: sa.Connection) -> None:
    """Rows written before this revision (the spine's demo data) get their search keys."""
    rows = bind.execute(sa.text("SELECT id, name FROM customers")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE customers SET name_search = :key WHERE id = :id"),
            [{"id": r.id, "key": name_key(r.name)} for r in rows],
        )
    rows = bind.execute(sa.text("SELECT id, raw, e164 FROM phones")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE phones SET digits = :key WHERE id = :id"),
            [{"id": r.id, "key": phone_key(r.raw, r.e164)} for r in rows],
        )
    rows = bind.execute(sa.text("SELECT id, vin, plate FROM vehicles")).all()
    if rows:
        bind.execute(
            sa.text("UPDATE vehicles SET vin = :vin, plate_key = :plate WHERE id = :id"),
            [
                {
                    "id": r.id,
                    "vin": vin_key(r.vin) or None if r.vin else None,
                    "plate": plate_key(r.plate) or None if r.plate else None,
                }
                for r in rows
            ],
        )


def _purposes(bind: sa.Connection) -> None:
    purposes = op.create_table(
        "purposes",
        sa.Column("code", sa.String(24), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False),
    )
    op.create_table(
        "sub_purposes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "purpose_code", sa.String(24), sa.ForeignKey("purposes.code", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.UniqueConstraint("purpose_code", "code", name="uq_sub_purposes_purpose_code"),
    )
    links = op.create_table(
        "employee_purposes",
        sa.Column(
            "employee_id",
            sa.String(64),
            sa.ForeignKey("employees.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "purpose_code",
            sa.String(24),
            sa.ForeignKey("purposes.code", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_employee_purposes_purpose_code", "employee_purposes", ["purpose_code"])
    known = {code for code, _, _ in BUILTIN_PURPOSES}
    rows = [{"code": c, "name": n, "position": p, "builtin": True} for c, n, p in BUILTIN_PURPOSES]
    # The spine kept an employee's purposes as space-separated text: each code becomes a membership, and
    # a code that is not built in becomes a purpose of its own rather than being dropped.
    members = bind.execute(sa.text("SELECT id, purposes FROM employees")).all()
    memberships = []
    for employee_id, text in members:
        for code in dict.fromkeys((text or "").split()):
            if code not in known:
                known.add(code)
                rows.append({"code": code, "name": code, "position": 100 + len(rows), "builtin": False})
            memberships.append({"employee_id": employee_id, "purpose_code": code})
    op.bulk_insert(purposes, rows)
    if memberships:
        op.bulk_insert(links, memberships)
    with op.batch_alter_table("employees") as t:
        t.drop_column("purposes")


def _journal(bind: sa.Connection) -> None:
    # The spine's contacts had no foreign keys: a customer id that points nowhere becomes NULL first.
    bind.execute(
        sa.text(
            "UPDATE contacts SET customer_id = NULL WHERE customer_id IS NOT NULL "
            "AND customer_id NOT IN (SELECT id FROM customers)"
        )
    )
    with op.batch_alter_table("contacts") as t:
        t.alter_column("caller_number", new_column_name="caller_phone", existing_type=sa.String(64))
        t.add_column(sa.Column("sub_purpose", sa.String(48)))
        t.add_column(sa.Column("purpose_auto", sa.Boolean, nullable=False, server_default=sa.false()))
        t.add_column(sa.Column("purpose_group", sa.String(24)))
        t.add_column(sa.Column("candidate_ids", sa.JSON, nullable=False, server_default=sa.text("'[]'")))
        t.add_column(sa.Column("caller_name", sa.String(200)))
        t.add_column(sa.Column("caller_e164", sa.String(20)))
        t.add_column(sa.Column("caller_note", sa.Text))
        t.add_column(sa.Column("tax_id", sa.String(32)))
        t.add_column(sa.Column("vehicle_id", sa.String(64)))
        t.add_column(sa.Column("document_number", sa.String(64)))
        t.add_column(sa.Column("responsible_employee_id", sa.String(64)))
        t.add_column(sa.Column("description", sa.Text))
        t.add_column(sa.Column("node_id", sa.String(64)))
        t.add_column(sa.Column("created_by", sa.String(64)))
        t.add_column(sa.Column("finalized_at", sa.DateTime(timezone=True)))
        t.add_column(sa.Column("finalized_by", sa.String(64)))
        t.add_column(sa.Column("postponed_until", sa.DateTime(timezone=True)))
        t.add_column(sa.Column("postponed_reason", sa.Text))
        t.add_column(sa.Column("postponed_to", sa.String(64)))
        t.add_column(sa.Column("missed_reason", sa.Text))
        t.add_column(sa.Column("updated_at", sa.DateTime(timezone=True)))
        t.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
        t.create_foreign_key(
            "fk_contacts_customer_id", "customers", ["customer_id"], ["id"], ondelete="SET NULL"
        )
        t.create_foreign_key(
            "fk_contacts_vehicle_id", "vehicles", ["vehicle_id"], ["id"], ondelete="SET NULL"
        )
        t.create_foreign_key(
            "fk_contacts_responsible_employee_id",
            "employees",
            ["responsible_employee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        t.create_index("ix_contacts_status_created", ["status", "created_at"])
        t.create_index("ix_contacts_purpose_created", ["purpose", "created_at"])
        t.create_index("ix_contacts_responsible_status", ["responsible_employee_id", "status"])
        t.create_index("ix_contacts_created_at", ["created_at"])
        t.create_index("ix_contacts_caller_e164", ["caller_e164"])
    op.create_table(
        "contact_notes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "contact_id", sa.String(36), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_contact_notes_contact_at", "contact_notes", ["contact_id", "at"])
    op.create_table(
        "contact_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "contact_id", sa.String(36), sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_contact_events_contact_at", "contact_events", ["contact_id", "at"])


def downgrade() -> None:
    raise NotImplementedError("the store does not downgrade: restore the backup taken before upgrading")
