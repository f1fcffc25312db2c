"""`import employees`: `id,name,login,extension,devices,purposes` (CONTRACT).

`devices` lists AMI device names separated by spaces (`PJSIP/201 SIP/150010002`; empty means
`PJSIP/{extension}`); `purposes` lists purpose codes separated by spaces or `;`, and the file is the truth
for the purposes of each employee it lists. Matched by `id` on re-import.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti_daemon.crm.importing.csv_source import Record, Refused
from cti_daemon.crm.models import Employee, EmployeePurpose, Purpose

_DEVICE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/[^\s/]+$")


@dataclass(frozen=True, slots=True)
class EmployeeRow:
    line: int
    id: str
    values: dict[str, str | None]
    purposes: tuple[str, ...] | None  # None: the column is absent, memberships stay as they are


class EmployeeImporter:
    kind = "employees"
    required: tuple[str, ...] = ("id", "name")
    optional: tuple[str, ...] = ("login", "extension", "devices", "purposes")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._purposes: set[str] | None = None

    def parse(self, record: Record) -> EmployeeRow | Refused:
        f, line = record.fields, record.line
        if not f["id"] or len(f["id"]) > 64:
            return Refused(line, "id must be 1 to 64 characters")
        if not f["name"] or len(f["name"]) > 200:
            return Refused(line, "name must be 1 to 200 characters")
        values: dict[str, str | None] = {"name": f["name"]}
        if "login" in f:
            if len(f["login"]) > 64:
                return Refused(line, "login longer than 64 characters")
            values["login"] = f["login"] or None
        if "extension" in f:
            if f["extension"] and (
                not f["extension"].isascii() or not f["extension"].isdigit() or len(f["extension"]) > 16
            ):
                return Refused(line, f"extension {f['extension'][:20]!r} must be digits")
            values["extension"] = f["extension"] or None
        if "devices" in f:
            bad = [d for d in f["devices"].split() if not _DEVICE.match(d)]
            if bad:
                return Refused(line, f"devices: {bad[0][:40]!r} is not an AMI device like PJSIP/201")
            values["devices"] = " ".join(f["devices"].split())
        purposes = None
        if "purposes" in f:
            purposes = tuple(dict.fromkeys(p.lower() for p in re.split(r"[\s;,]+", f["purposes"]) if p))
        return EmployeeRow(line, f["id"], values, purposes)

    async def apply(self, session: AsyncSession, batch: list[EmployeeRow]) -> tuple[list[Refused], set[str]]:
        if self._purposes is None:
            self._purposes = set((await session.scalars(select(Purpose.code))).all())
        refused: list[Refused] = []
        created: set[str] = set()
        existing = {
            e.id: e
            for e in (
                await session.execute(
                    select(Employee.__table__).where(Employee.id.in_([r.id for r in batch]))
                )
            ).all()
        }
        logins = {
            login: eid
            for eid, login in await session.execute(
                select(Employee.id, Employee.login).where(Employee.login.is_not(None))
            )
        }
        for row in batch:
            unknown = [p for p in row.purposes or () if p not in self._purposes]
            if unknown:
                known = ", ".join(sorted(self._purposes))
                refused.append(
                    Refused(row.line, f"purpose {unknown[0]!r} is not configured (known: {known})")
                )
                continue
            login = row.values.get("login")
            if login is not None and logins.get(login, row.id) != row.id:
                refused.append(Refused(row.line, f"login {login!r} belongs to employee {logins[login]!r}"))
                continue
            if login is not None:
                logins[login] = row.id
            old = existing.get(row.id)
            if old is None and row.id not in created:
                await session.execute(insert(Employee).values({"id": row.id, "devices": "", **row.values}))
                created.add(row.id)
                self.counts["employees created"] += 1
            elif old is None:  # a second row for an employee created by this batch
                await session.execute(update(Employee).where(Employee.id == row.id).values(**row.values))
            else:
                diff = {k: v for k, v in row.values.items() if getattr(old, k) != v}
                if diff:
                    await session.execute(update(Employee).where(Employee.id == row.id).values(**diff))
                self.counts["employees updated" if diff else "employees unchanged"] += 1
            if row.purposes is not None:
                have = set(
                    (
                        await session.scalars(
                            select(EmployeePurpose.purpose_code).where(EmployeePurpose.employee_id == row.id)
                        )
                    ).all()
                )
                if have != set(row.purposes):
                    await session.execute(
                        delete(EmployeePurpose).where(EmployeePurpose.employee_id == row.id)
                    )
                    if row.purposes:
                        await session.execute(
                            insert(EmployeePurpose),
                            [{"employee_id": row.id, "purpose_code": p} for p in row.purposes],
                        )
        return refused, set()
