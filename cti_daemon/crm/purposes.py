"""The purposes of contacts (seed 003): five built-in first levels, a configurable second level, and the
employees of each (the purpose group). Read from the store, kept in memory, refreshed by the daemon."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cti_daemon.crm.models import BUILTIN_PURPOSES, Employee, Purpose
from cti_daemon.crm.store import Store


@dataclass(frozen=True, slots=True)
class SubPurposeInfo:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class PurposeInfo:
    code: str
    name: str
    subs: tuple[SubPurposeInfo, ...] = ()
    members: tuple[str, ...] = ()  # employee ids


@dataclass(frozen=True, slots=True)
class PurposeCatalog:
    purposes: Mapping[str, PurposeInfo] = field(default_factory=dict)
    employees: frozenset[str] = frozenset()  # every employee id, for checking who a contact is given to

    @classmethod
    def builtin(cls) -> PurposeCatalog:
        """What the daemon knows before the store answers: the five purposes, no levels, no members."""
        return cls({code: PurposeInfo(code, name) for code, name in BUILTIN_PURPOSES})

    def levels(self) -> dict[str, list[str]]:
        return {code: [s.code for s in p.subs] for code, p in self.purposes.items()}

    def members(self, code: str | None) -> tuple[str, ...]:
        info = self.purposes.get(code or "")
        return info.members if info else ()


async def load_catalog(store: Store) -> PurposeCatalog:
    async with store.session() as session:
        purposes = (
            await session.scalars(
                select(Purpose).options(selectinload(Purpose.subs)).order_by(Purpose.position)
            )
        ).all()
        employees = (
            await session.scalars(
                select(Employee).options(selectinload(Employee.purpose_links)).order_by(Employee.id)
            )
        ).all()
    members: dict[str, list[str]] = {}
    for e in employees:
        for code in e.purpose_codes():
            members.setdefault(code, []).append(e.id)
    return PurposeCatalog(
        {
            p.code: PurposeInfo(
                p.code,
                p.name,
                tuple(SubPurposeInfo(s.code, s.name) for s in p.subs if s.active),
                tuple(members.get(p.code, ())),
            )
            for p in purposes
        },
        frozenset(e.id for e in employees),
    )
