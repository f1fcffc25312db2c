"""Follow-up calls (seed 000, issue 14 item 4): calls to make — after a repair order, a service due —
to a customer's number by an employee (or anyone of a purpose's group), with attempts and their outcomes
(routing/followup_rules.py). Created over HTTP or by `cti-daemon import followups`; when one comes due,
its employee (or group) gets a `followup_due` notify, once across nodes (the store's claim)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cti_daemon import logs
from cti_daemon.crm.followups_store import (
    AttemptRecord,
    FollowUpChangedError,
    FollowUpRecord,
    FollowUpReferenceError,
    FollowUpStore,
)
from cti_daemon.crm.purposes import PurposeCatalog
from cti_daemon.ids import uuid7
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.followup_rules import AttemptRefused, after_attempt

log = logs.get("cti.routing.followups")


@dataclass(frozen=True, slots=True)
class NewFollowUp:
    phone: str
    reason: str
    due_at: datetime
    customer_id: str | None = None
    employee_id: str | None = None
    purpose_group: str | None = None


class FollowUpMissing(LookupError):  # noqa: N818 - 404
    pass


class FollowUps:
    def __init__(
        self,
        *,
        store: FollowUpStore,
        catalog: Callable[[], PurposeCatalog],
        out: AgentPort,
        clock: Callable[[], datetime],
        max_attempts: int,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._out = out
        self._clock = clock
        self._max = max_attempts

    def check(self, new: NewFollowUp) -> None:
        """Raises AttemptRefused naming the field (the same refusals as an import's rows)."""
        catalog = self._catalog()
        if new.employee_id is None and new.purpose_group is None:
            raise AttemptRefused("give employee_id or purpose, who makes the call", field="employee_id")
        if new.employee_id is not None and new.employee_id not in catalog.employees:
            raise AttemptRefused(f"no employee {new.employee_id!r}", field="employee_id")
        if new.purpose_group is not None and new.purpose_group not in catalog.purposes:
            raise AttemptRefused(f"unknown purpose {new.purpose_group!r}", field="purpose")

    def row(self, new: NewFollowUp, actor: str) -> dict[str, Any]:
        now = self._clock()
        return {
            "id": uuid7(),
            "customer_id": new.customer_id,
            "phone": new.phone,
            "reason": new.reason,
            "due_at": new.due_at,
            "employee_id": new.employee_id,
            "purpose_group": new.purpose_group,
            "status": "open",
            "attempts": 0,
            "created_at": now,
            "created_by": actor,
            "updated_at": now,
        }

    async def create(self, new: NewFollowUp, actor: str) -> FollowUpRecord:
        self.check(new)
        row = self.row(new, actor)
        try:
            await self._store.insert_many([row])
        except FollowUpReferenceError:
            raise AttemptRefused(f"no customer {new.customer_id!r}", field="customer_id") from None
        created = await self.get(row["id"])
        log.info("followup.created", followup_id=created.id, actor=actor, employee_id=created.employee_id)
        return created

    async def get(self, followup_id: str) -> FollowUpRecord:
        found = await self._store.get(followup_id)
        if found is None:
            raise FollowUpMissing(f"no follow-up {followup_id}")
        return found

    async def query(self, **filters: Any) -> list[FollowUpRecord]:
        return await self._store.query(**filters)

    async def attempt(
        self, followup_id: str, outcome: str, note: str | None, next_due_at: datetime | None, actor: str
    ) -> FollowUpRecord:
        for _ in range(3):  # another attempt landed between our read and our write: read again
            current = await self.get(followup_id)
            now = self._clock()
            after = after_attempt(
                status=current.status,
                attempts=current.attempts,
                due_at=current.due_at,
                outcome=outcome,
                next_due_at=next_due_at,
                now=now,
                max_attempts=self._max,
            )
            values = {
                "status": after.status,
                "attempts": after.attempts,
                "due_at": after.due_at,
                "updated_at": now,
            }
            try:
                await self._store.attempt(
                    followup_id,
                    current.attempts,
                    values,
                    AttemptRecord(uuid7(), now, actor, outcome, note, next_due_at),
                )
            except FollowUpChangedError:
                continue
            log.info("followup.attempt", followup_id=followup_id, outcome=outcome, status=after.status)
            return await self.get(followup_id)
        raise AttemptRefused("the follow-up keeps changing; try again", field="outcome", conflict=True)

    async def tick(self) -> int:
        """Tell whoever makes them about the follow-ups come due (claimed: one node tells each)."""
        now = self._clock()
        due = await self._store.claim_due(now)
        for f in due:
            who = [f.employee_id] if f.employee_id else list(self._catalog().members(f.purpose_group))
            for employee_id in who:
                self._out.notify(
                    employee_id=employee_id,
                    kind="followup_due",
                    contact_id=None,
                    text=f"Call {f.phone}: {f.reason}",
                    at=now,
                    followup_id=f.id,
                    phone=f.phone,
                    customer_id=f.customer_id,
                    attempts=f.attempts,
                )
            log.info("followup.due", followup_id=f.id, told=len(who))
        return len(due)
