"""Which contacts an employee may see and act on: their own, and their purposes' (the purpose group).

One rule for every way out (the HTTP API, the live stream): a contact is an employee's when they are
responsible for it or it was postponed to them, and their purposes' when it waits for the group of a
purpose they take (the group named on the contact, or, with nobody responsible, its purpose) — the same
group `JournalService` notifies.
"""

from __future__ import annotations

from collections.abc import Collection

from cti_daemon.crm.journal_store import ContactRecord
from cti_daemon.crm.purposes import PurposeCatalog


def waiting_group(record: ContactRecord) -> str | None:
    return record.purpose_group or (None if record.responsible_employee_id else record.purpose)


def contact_is_theirs(record: ContactRecord, employee_id: str, purposes: Collection[str]) -> bool:
    if employee_id in (record.responsible_employee_id, record.postponed_to):
        return True
    group = waiting_group(record)
    return group is not None and group in purposes


def purposes_of(catalog: PurposeCatalog, employee_id: str) -> tuple[str, ...]:
    return tuple(code for code, info in catalog.purposes.items() if employee_id in info.members)
