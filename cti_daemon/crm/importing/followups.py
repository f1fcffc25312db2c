"""`import followups`: calls to make (seed 000), `phone,reason,due_at[,customer_id][,employee_id]
[,purpose][,id]`. Each row names who makes the call (an employee, or a purpose whose group does). A row
with an `id` already in the store updates that follow-up (its due time, reason, who); rows without one
are new follow-ups. Bad rows are refused by line; the others are taken."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti_daemon.crm.importing.csv_source import Record, Refused
from cti_daemon.crm.models import Customer, Employee, FollowUp, Purpose
from cti_daemon.ids import uuid7


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    line: int
    id: str | None
    phone: str
    reason: str
    due_at: datetime
    customer_id: str | None
    employee_id: str | None
    purpose: str | None


class FollowUpImporter:
    kind = "followups"
    required: tuple[str, ...] = ("phone", "reason", "due_at")
    optional: tuple[str, ...] = ("customer_id", "employee_id", "purpose", "id")

    def __init__(self, now: datetime | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self._now = now or datetime.now(UTC)

    def parse(self, record: Record) -> FollowUpRow | Refused:
        f, line = record.fields, record.line
        phone, reason, raw_due = f["phone"].strip(), f["reason"].strip(), f["due_at"].strip()
        if not phone or len(phone) > 64:
            return Refused(line, "phone must be 1 to 64 characters")
        if not reason or len(reason) > 1000:
            return Refused(line, "reason must be 1 to 1000 characters")
        try:
            due = datetime.fromisoformat(raw_due.replace("Z", "+00:00"))
        except ValueError:
            return Refused(line, f"due_at {raw_due[:40]!r} is not an ISO 8601 date and time")
        due = due.astimezone(UTC) if due.tzinfo else due.replace(tzinfo=UTC)
        employee = f.get("employee_id", "").strip() or None
        purpose = f.get("purpose", "").strip().lower() or None
        if employee is None and purpose is None:
            return Refused(line, "give employee_id or purpose: who makes the call")
        given_id = f.get("id", "").strip() or None
        if given_id is not None and len(given_id) > 36:
            return Refused(line, "id is longer than 36 characters")
        customer = f.get("customer_id", "").strip() or None
        return FollowUpRow(line, given_id, phone, reason, due, customer, employee, purpose)

    async def apply(self, session: AsyncSession, batch: list[FollowUpRow]) -> tuple[list[Refused], set[str]]:
        employees = set(
            (
                await session.scalars(
                    select(Employee.id).where(Employee.id.in_({r.employee_id for r in batch}))
                )
            ).all()
        )
        customers = set(
            (
                await session.scalars(
                    select(Customer.id).where(Customer.id.in_({r.customer_id for r in batch}))
                )
            ).all()
        )
        purposes = set((await session.scalars(select(Purpose.code))).all())
        existing = set(
            (
                await session.scalars(
                    select(FollowUp.id).where(FollowUp.id.in_({r.id for r in batch if r.id}))
                )
            ).all()
        )
        refused: list[Refused] = []
        for row in batch:
            if row.employee_id is not None and row.employee_id not in employees:
                refused.append(Refused(row.line, f"no employee {row.employee_id!r}"))
                continue
            if row.purpose is not None and row.purpose not in purposes:
                refused.append(
                    Refused(
                        row.line, f"unknown purpose {row.purpose!r} (known: {', '.join(sorted(purposes))})"
                    )
                )
                continue
            if row.customer_id is not None and row.customer_id not in customers:
                refused.append(Refused(row.line, f"no customer {row.customer_id!r}"))
                continue
            values = {
                "phone": row.phone,
                "reason": row.reason,
                "due_at": row.due_at,
                "customer_id": row.customer_id,
                "employee_id": row.employee_id,
                "purpose_group": row.purpose,
                "updated_at": self._now,
            }
            if row.id in existing:
                await session.execute(update(FollowUp).where(FollowUp.id == row.id).values(**values))
                self.counts["follow-ups updated"] += 1
                continue
            session.add(
                FollowUp(
                    id=row.id or uuid7(),
                    status="open",
                    attempts=0,
                    created_at=self._now,
                    created_by="import",
                    **values,
                )
            )
            if row.id:
                existing.add(row.id)
            self.counts["follow-ups created"] += 1
        await session.flush()
        return refused, set()
