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
from cti_daemon.routing.journal_rules import serves_purpose, vehicle_problem

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
