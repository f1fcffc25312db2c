"""The spine's schema, exactly as its `create_all` made it (databases from before the migrations are
stamped at this revision and upgraded from here).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("tax_id", sa.String(32)),
        sa.Column("crm_service", sa.String(64)),
        sa.Column("crm_sales", sa.String(64)),
        sa.Column("crm_parts", sa.String(64)),
    )
    op.create_index("ix_customers_tax_id", "customers", ["tax_id"])
    op.create_table(
        "employees",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("login", sa.String(64), unique=True),
        sa.Column("extension", sa.String(16)),
        sa.Column("devices", sa.Text, nullable=False),
        sa.Column("purposes", sa.Text, nullable=False),
    )
    op.create_index("ix_employees_extension", "employees", ["extension"])
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("call_id", sa.String(64)),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("caller_number", sa.String(64)),
        sa.Column("purpose", sa.String(24)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contacts_customer_created", "contacts", ["customer_id", "created_at"])
    op.create_index("ix_contacts_call_id", "contacts", ["call_id"])
    op.create_table(
        "phones",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id", sa.String(64), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("raw", sa.String(64), nullable=False),
        sa.Column("e164", sa.String(20)),
        sa.Column("kind", sa.String(16), nullable=False),
    )
    op.create_index("ix_phones_customer_id", "phones", ["customer_id"])
    op.create_index("ix_phones_e164", "phones", ["e164"])
    op.create_table(
        "vehicles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "customer_id", sa.String(64), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("vin", sa.String(17)),
        sa.Column("plate", sa.String(16)),
        sa.Column("model", sa.String(120)),
        sa.Column("year", sa.Integer),
    )
    op.create_index("ix_vehicles_customer_id", "vehicles", ["customer_id"])
    op.create_index("ix_vehicles_plate", "vehicles", ["plate"])
    op.create_index("ix_vehicles_vin", "vehicles", ["vin"])
    op.create_table(
        "documents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "customer_id", sa.String(64), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(24)),
        sa.Column("owner_employee_id", sa.String(64)),
        sa.Column("opened_at", sa.DateTime(timezone=True)),
        sa.Column("vehicle_id", sa.String(64)),
    )
    op.create_index("ix_documents_number", "documents", ["number"])
    op.create_index("ix_documents_customer_status", "documents", ["customer_id", "status"])


def downgrade() -> None:
    for table in ("documents", "vehicles", "phones", "contacts", "employees", "customers"):
        op.drop_table(table)
