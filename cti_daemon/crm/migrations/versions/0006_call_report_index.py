"""Issue 14, item 5: a covering index for the call report, so its one pass over a span reads the index
alone (the columns the report needs, in created_at order within inbound calls), never the wide rows.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# As models.Contact declares it (a migration keeps its own copy: it must not change with the code).
_COLUMNS = [
    "type",
    "direction",
    "created_at",
    "outcome",
    "answered_by",
    "responsible_employee_id",
    "purpose",
    "answer_s",
    "talk_s",
    "callback_kind",
    "callback_s",
]


def upgrade() -> None:
    op.create_index("ix_contacts_report", "contacts", _COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_contacts_report", table_name="contacts")
