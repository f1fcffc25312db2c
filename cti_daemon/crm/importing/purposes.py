"""`import purposes`: the second level of contact purposes (`purpose,code,name[,position][,active]`).

One row per sub-purpose ("service,warranty,Warranty repair"), matched by (purpose, code) on re-import.
The file is the truth for each purpose it lists: a sub-purpose of that purpose the file leaves out is
deactivated (kept for the contacts that already name it, no longer offered), and comes back when a later
file lists it again. Purposes the file does not mention keep theirs. `position` orders the list reception
picks from (default: the order of the file); `active` is yes/no (default yes).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti_daemon.crm.importing.csv_source import Record, Refused
from cti_daemon.crm.models import Purpose, SubPurpose

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
_YES = {"", "yes", "y", "true", "1", "да"}
_NO = {"no", "n", "false", "0", "нет"}


@dataclass(frozen=True, slots=True)
class SubPurposeRow:
    line: int
    purpose: str
    code: str
    name: str
    position: int
    active: bool


class PurposeImporter:
    kind = "purposes"
    required: tuple[str, ...] = ("purpose", "code", "name")
    optional: tuple[str, ...] = ("position", "active")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._purposes: set[str] | None = None
        self._rows_of: Counter[str] = Counter()  # rows parsed per purpose: the default position
        self._listed: set[str] = set()  # purposes whose other sub-purposes this run has deactivated
        self._lines: dict[tuple[str, str], int] = {}  # (purpose, code) -> the line that listed it

    def parse(self, record: Record) -> SubPurposeRow | Refused:
        f, line = record.fields, record.line
        purpose, code, name = f["purpose"].lower(), f["code"], f["name"]
        if not purpose:
            return Refused(line, "purpose is empty")
        if not _CODE.match(code):
            return Refused(line, f"code {code[:60]!r} must be 1 to 48 letters, digits or _.- (no spaces)")
        if not name or len(name) > 200:
            return Refused(line, "name must be 1 to 200 characters")
        place = f.get("position", "")
        if place and (not (place.isascii() and place.isdigit()) or int(place) > 100_000):
            return Refused(line, f"position {place[:20]!r} must be a whole number from 0 to 100000")
        answer = f.get("active", "").strip().lower()
        if answer not in _YES and answer not in _NO:
            return Refused(line, f"active {f['active'][:20]!r} must be yes or no")
        first = self._lines.setdefault((purpose, code), line)  # rows refused above do not count
        if first != line:
            return Refused(line, f"{purpose} {code!r} is already on line {first}")
        self._rows_of[purpose] += 1
        position = int(place) if place else self._rows_of[purpose]
        return SubPurposeRow(line, purpose, code, name, position, answer in _YES)

    async def apply(
        self, session: AsyncSession, batch: list[SubPurposeRow]
    ) -> tuple[list[Refused], set[str]]:
        if self._purposes is None:
            self._purposes = set((await session.scalars(select(Purpose.code))).all())
        refused: list[Refused] = []
        taken: list[SubPurposeRow] = []
        for row in batch:
            if row.purpose in self._purposes:
                taken.append(row)
            else:
                known = ", ".join(sorted(self._purposes))
                refused.append(
                    Refused(row.line, f"purpose {row.purpose!r} is not configured (known: {known})")
                )
        first_listed = {row.purpose for row in taken} - self._listed
        existing = {
            (sub.purpose_code, sub.code): sub
            for sub in (
                await session.scalars(
                    select(SubPurpose).where(SubPurpose.purpose_code.in_({r.purpose for r in taken}))
                )
            ).all()
        }
        file_keys = {(row.purpose, row.code) for row in taken}
        for key, old in existing.items():
            if key[0] in first_listed and key not in file_keys and old.active:
                old.active = False
                self.counts["sub-purposes deactivated"] += 1
        self._listed |= first_listed
        for row in taken:
            values = {"name": row.name, "position": row.position, "active": row.active}
            sub = existing.get((row.purpose, row.code))
            if sub is None:
                await session.execute(
                    insert(SubPurpose).values(purpose_code=row.purpose, code=row.code, **values)
                )
                self.counts["sub-purposes created"] += 1
                continue
            changed = {k: v for k, v in values.items() if getattr(sub, k) != v}
            if changed:
                await session.execute(update(SubPurpose).where(SubPurpose.id == sub.id).values(**changed))
            self.counts["sub-purposes updated" if changed else "sub-purposes unchanged"] += 1
        return refused, set()
