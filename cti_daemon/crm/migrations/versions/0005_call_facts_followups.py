"""Issue 14: the call's facts on contacts (direction, outcome, rang/answered/ended times, who answered,
the callback that closed a missed call), and follow-up calls with their attempts.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)
_CONTACT_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any], dict[str, Any]]] = [
    ("direction", sa.String(8), {"nullable": False, "server_default": "inbound"}),
    ("outcome", sa.String(16), {}),
    ("rang_at", _WHEN, {}),
    ("answered_at", _WHEN, {}),
    ("ended_at", _WHEN, {}),
    ("answered_by", sa.String(64), {}),
    ("answer_s", sa.Integer(), {}),
    ("talk_s", sa.Integer(), {}),
    ("wait_s", sa.Integer(), {}),
    ("answers_contact_id", sa.String(36), {}),
    ("callback_at", _WHEN, {}),
    ("callback_kind", sa.String(16), {}),
    ("callback_contact_id", sa.String(36), {}),
    ("callback_s", sa.Integer(), {}),
]


def upgrade() -> None:
    for name, kind, options in _CONTACT_COLUMNS:
        op.add_column("contacts", sa.Column(name, kind, **options))
    op.create_index("ix_contacts_answers_contact_id", "contacts", ["answers_contact_id"])
    op.create_index("ix_contacts_status_postponed", "contacts", ["status", "postponed_until"])
    op.create_index("ix_contacts_outcome_number", "contacts", ["outcome", "caller_e164"])
    op.create_table(
        "followups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id", ondelete="SET NULL")),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("due_at", _WHEN, nullable=False),
        sa.Column("employee_id", sa.String(64), sa.ForeignKey("employees.id", ondelete="SET NULL")),
        sa.Column("purpose_group", sa.String(24)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("notified_due_at", _WHEN),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("updated_at", _WHEN),
    )
    op.create_index("ix_followups_status_due", "followups", ["status", "due_at"])
    op.create_index("ix_followups_employee_id", "followups", ["employee_id"])
    op.create_table(
        "followup_attempts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "followup_id", sa.String(36), sa.ForeignKey("followups.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("next_due_at", _WHEN),
    )
    op.create_index("ix_followup_attempts_followup_at", "followup_attempts", ["followup_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_followup_attempts_followup_at", table_name="followup_attempts")
    op.drop_table("followup_attempts")
    op.drop_index("ix_followups_employee_id", table_name="followups")
    op.drop_index("ix_followups_status_due", table_name="followups")
    op.drop_table("followups")
    op.drop_index("ix_contacts_outcome_number", table_name="contacts")
    op.drop_index("ix_contacts_status_postponed", table_name="contacts")
    op.drop_index("ix_contacts_answers_contact_id", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        for name, _kind, _options in reversed(_CONTACT_COLUMNS):
            batch.drop_column(name)
