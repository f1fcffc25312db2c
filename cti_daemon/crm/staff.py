"""The staff list as plain rows (for the API); the store's session stays here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cti_daemon.crm.models import Employee
from cti_daemon.crm.store import Store


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: str
    name: str
    login: str | None
    extension: str | None
    purposes: list[str]


async def list_staff(store: Store) -> list[StaffRow]:
    async with store.session() as session:
        rows = (
            await session.scalars(
                select(Employee).options(selectinload(Employee.purpose_links)).order_by(Employee.id)
            )
        ).all()
    return [StaffRow(e.id, e.name, e.login, e.extension, list(e.purpose_codes())) for e in rows]
