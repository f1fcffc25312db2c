"""The rules reception cannot break (issue 14): the responsible employee serves the contact's purpose (an
admin may override, and the history says so), the vehicle is the customer's. Checked on the contact as it
would be after a change, before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cti_daemon.crm.cards import CustomerCards
from cti_daemon.crm.journal_store import ContactRecord
from cti_daemon.crm.purposes import PurposeCatalog
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.routing.journal_errors import ContactConflict, InvalidContact
from cti_daemon.routing.journal_rules import FieldProblem, serves_purpose, vehicle_problem

NOT_IN_PURPOSE = "employee_not_in_purpose"


class JournalGuards:
    def __init__(self, *, catalog: Callable[[], PurposeCatalog], cards: CustomerCards) -> None:
        self._catalog = catalog
        self._cards = cards

    async def check(
        self, before: ContactRecord | None, after: ContactRecord, *, override: bool
    ) -> dict[str, Any]:
        """Raises the refusal; returns what the change's history event must also record (an override)."""
        await self._check_vehicle(before, after)
        return self._check_responsible(before, after, override=override)

    def _check_responsible(
        self, before: ContactRecord | None, after: ContactRecord, *, override: bool
    ) -> dict[str, Any]:
        employee = after.responsible_employee_id
        if employee is None:
            return {}
        if before is not None and (before.responsible_employee_id, before.purpose) == (
            employee,
            after.purpose,
        ):
            return {}  # neither changed: a contact given before the rule, or by an override, stays so
        if serves_purpose(employee, after.purpose, self._catalog().members(after.purpose)):
            return {}
        if override:
            return {"override": NOT_IN_PURPOSE}
        raise ContactConflict(
            f"employee {employee} does not take {after.purpose} contacts (not in that purpose's group); "
            'an admin may give it anyway with "override": true',
            field="responsible_employee_id",
            code=NOT_IN_PURPOSE,
        )

    async def _check_vehicle(self, before: ContactRecord | None, after: ContactRecord) -> None:
        if after.vehicle_id is None or after.customer_id is None:
            return
        if before is not None and (before.vehicle_id, before.customer_id) == (
            after.vehicle_id,
            after.customer_id,
        ):
            return
        try:
            detail = await self._cards.card(after.customer_id)
        except StoreUnavailableError:
            return  # the reference is checked again by the store's foreign keys once it is back
        if detail is None:
            return  # an unknown customer is refused by the store's foreign key, naming customer_id
        problem = vehicle_problem(after.vehicle_id, after.customer_id, {v.id for v in detail.card.vehicles})
        if problem is not None:
            raise InvalidContact([problem])


def field_problems(record: ContactRecord, catalog: PurposeCatalog) -> list[FieldProblem]:
    """What a change would leave the contact naming that the catalog does not know."""
    problems: list[FieldProblem] = []
    if record.purpose is not None and record.purpose not in catalog.purposes:
        problems.append(FieldProblem("purpose", f"unknown purpose {record.purpose!r}"))
    elif record.sub_purpose is not None and record.sub_purpose not in catalog.levels().get(
        record.purpose or "", []
    ):
        problems.append(
            FieldProblem("sub_purpose", f"{record.sub_purpose!r} is not a level of {record.purpose}")
        )
    if record.purpose_group is not None and record.purpose_group not in catalog.purposes:
        problems.append(FieldProblem("purpose_group", f"unknown purpose {record.purpose_group!r}"))
    for field_name in ("responsible_employee_id", "postponed_to"):
        value = getattr(record, field_name)
        if value is not None and value not in catalog.employees:
            problems.append(FieldProblem(field_name, f"no employee {value!r}"))
    return problems
