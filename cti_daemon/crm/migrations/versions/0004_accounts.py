"""Accounts and sessions of issue 12: an employee's password hash, role and disabled flag; the sessions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # add_column needs no table rebuild on SQLite (a NOT NULL column needs its server default).
    op.add_column("employees", sa.Column("password_hash", sa.String(255), nullable=True))
    op.add_column("employees", sa.Column("role", sa.String(16), nullable=False, server_default="employee"))
    op.add_column("employees", sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "sessions",
        sa.Column("id_digest", sa.String(64), primary_key=True),
        sa.Column(
            "employee_id", sa.String(64), sa.ForeignKey("employees.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_employee_id", "sessions", ["employee_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
    op.drop_index("ix_sessions_employee_id", table_name="sessions")
    op.drop_table("sessions")
    with op.batch_alter_table("employees") as batch:
        batch.drop_column("disabled")
        batch.drop_column("role")
        batch.drop_column("password_hash")
