"""Claiming what came due, atomically in SQL: one UPDATE ... WHERE ... RETURNING takes the rows, so with
several daemon nodes on one store each due item is taken by exactly one of them (the row lock on
PostgreSQL, the database lock on SQLite), and a restart finds what is due in the store, not in memory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_, update

from cti_daemon.crm.models import Contact, ContactEvent
from cti_daemon.crm.store import Store
from cti_daemon.ids import uuid7


async def claim_due_postponements(store: Store, now: datetime, actor: str) -> list[str]:
    """Postponed contacts whose `postponed_until` has come: made assigned (to whom, or the group, they
    were postponed to; registered when neither), with a `postponed_due` event. Their ids."""
    given = or_(Contact.responsible_employee_id.is_not(None), Contact.purpose_group.is_not(None))
    stmt = (
        update(Contact)
        .where(Contact.status == "postponed", Contact.postponed_until <= now)
        .values(
            status=case((given, "assigned"), else_="registered"),
            version=Contact.version + 1,
            updated_at=now,
        )
        .returning(Contact.id, Contact.postponed_until)
        .execution_options(synchronize_session=False)
    )
    async with store.session() as session, session.begin():
        rows = (await session.execute(stmt)).all()
        for contact_id, until in rows:
            session.add(
                ContactEvent(
                    id=uuid7(),
                    contact_id=contact_id,
                    at=now,
                    actor=actor,
                    kind="postponed_due",
                    data={"until": until.isoformat() if until else None},
                )
            )
    return [r[0] for r in rows]
