"""Alembic's entry: always run by `crm/schema.py` on a connection it hands over (never from a CLI .ini)."""

from __future__ import annotations

from alembic import context

from cti_daemon.crm.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them; alembic's batch mode does that
)
with context.begin_transaction():
    context.run_migrations()
