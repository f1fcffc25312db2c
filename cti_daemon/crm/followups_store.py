"""Follow-up calls in the store (migration 0005): create, read with attempts, list, record an attempt
(optimistically: the attempt counter read is the one written over), and claim the ones come due in one
UPDATE ... RETURNING, so that with several nodes each due follow-up is told once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from cti_daemon.crm.models import FollowUp, FollowUpAttempt
from cti_daemon.crm.store import Store


class FollowUpChangedError(Exception):
    """Another attempt was recorded meanwhile."""


class FollowUpReferenceError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    id: str
    at: datetime
    actor: str | None
    outcome: str
    note: str | None
    next_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class FollowUpRecord:
    id: str
    customer_id: str | None
    phone: str
    reason: str
    due_at: datetime
    employee_id: str | None
    purpose_group: str | None
    status: str
    attempts: int
    created_at: datetime
    created_by: str | None
    updated_at: datetime | None
    history: tuple[AttemptRecord, ...] = ()


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _record(row: FollowUp, attempts: Sequence[FollowUpAttempt] = ()) -> FollowUpRecord:
    return FollowUpRecord(
        row.id,
        row.customer_id,
        row.phone,
        row.reason,
        _aware(row.due_at) or row.due_at,
        row.employee_id,
        row.purpose_group,
        row.status,
        row.attempts,
        _aware(row.created_at) or row.created_at,
        row.created_by,
        _aware(row.updated_at),
        tuple(
            AttemptRecord(a.id, _aware(a.at) or a.at, a.actor, a.outcome, a.note, _aware(a.next_due_at))
            for a in attempts
        ),
    )


class FollowUpStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        try:
            async with self._store.session() as session, session.begin():
                session.add_all(FollowUp(**row) for row in rows)
        except IntegrityError:
            raise FollowUpReferenceError("a customer or employee it names does not exist") from None

    async def get(self, followup_id: str) -> FollowUpRecord | None:
        async with self._store.session() as session:
            row = await session.get(FollowUp, followup_id)
            if row is None:
                return None
            attempts = (
                await session.scalars(
                    select(FollowUpAttempt)
                    .where(FollowUpAttempt.followup_id == followup_id)
                    .order_by(FollowUpAttempt.at, FollowUpAttempt.id)
                )
            ).all()
        return _record(row, attempts)

    async def query(
        self,
        *,
        status: str | None,
        employee: str | None,
        purposes: tuple[str, ...] | None,
        due_before: datetime | None,
        limit: int,
    ) -> list[FollowUpRecord]:
        stmt = select(FollowUp)
        if status is not None:
            stmt = stmt.where(FollowUp.status == status)
        if due_before is not None:
            stmt = stmt.where(FollowUp.due_at <= due_before)
        if employee is not None and purposes is not None:  # an employee's own and their groups'
            stmt = stmt.where(
                or_(
                    FollowUp.employee_id == employee,
                    and_(FollowUp.employee_id.is_(None), FollowUp.purpose_group.in_(purposes)),
                )
            )
        elif employee is not None:
            stmt = stmt.where(FollowUp.employee_id == employee)
        stmt = stmt.order_by(FollowUp.due_at, FollowUp.id).limit(limit)
        async with self._store.session() as session:
            return [_record(r) for r in (await session.scalars(stmt)).all()]

    async def attempt(
        self, followup_id: str, seen_attempts: int, values: dict[str, Any], attempt: AttemptRecord
    ) -> None:
        async with self._store.session() as session, session.begin():
            result = await session.execute(
                update(FollowUp)
                .where(FollowUp.id == followup_id, FollowUp.attempts == seen_attempts)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                raise FollowUpChangedError(followup_id)
            session.add(
                FollowUpAttempt(
                    id=attempt.id,
                    followup_id=followup_id,
                    at=attempt.at,
                    actor=attempt.actor,
                    outcome=attempt.outcome,
                    note=attempt.note,
                    next_due_at=attempt.next_due_at,
                )
            )

    async def claim_due(self, now: datetime) -> list[FollowUpRecord]:
        """Open follow-ups whose due time has come and has not been told yet (a new due time is told
        again); marked told in the same statement."""
        not_told = or_(FollowUp.notified_due_at.is_(None), FollowUp.notified_due_at != FollowUp.due_at)
        stmt = (
            update(FollowUp)
            .where(FollowUp.status == "open", FollowUp.due_at <= now, not_told)
            .values(notified_due_at=FollowUp.due_at)
            .returning(FollowUp.id)
            .execution_options(synchronize_session=False)
        )
        async with self._store.session() as session, session.begin():
            ids = [r[0] for r in (await session.execute(stmt)).all()]
        found = [await self.get(i) for i in ids]
        return [f for f in found if f is not None]
