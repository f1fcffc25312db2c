"""The waiting queue of issue 5: a visit waits from `queued_at` until it is assigned or missed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # add_column needs no table rebuild on SQLite, so the search triggers of 0002 stay as they are.
    op.add_column("contacts", sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_contacts_queued_at", "contacts", ["queued_at"])


def downgrade() -> None:
    op.drop_index("ix_contacts_queued_at", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("queued_at")
