"""The journal and transfers, joined: every transfer of a call is in its contact's history, the employee
the call is put through to becomes responsible for the contact, the transfer notify names the contact,
and seed 003's "Transfer" button (a registration with `transfer: true`) puts the call through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cti_daemon import logs
from cti_daemon.crm.journal_store import ContactNotFoundError, EventRecord, JournalStore
from cti_daemon.crm.store import StoreUnavailableError
from cti_daemon.ids import uuid7
from cti_daemon.routing.call_actions import CallActionError
from cti_daemon.routing.journal import Change, JournalService, facts
from cti_daemon.routing.journal_errors import JournalError
from cti_daemon.routing.journal_rules import ContactStatus
from cti_daemon.routing.notify_rules import ContactFacts
from cti_daemon.routing.ring_contacts import RingContacts
from cti_daemon.routing.transfer_book import Transfer, TransferStatus
from cti_daemon.routing.transfer_checks import TransferRequest
from cti_daemon.routing.transfers import TransferService

log = logs.get("cti.routing.journal")

PBX = "pbx"
_TAKEN_OVER = (
    ContactStatus.REGISTERED,
    ContactStatus.ASSIGNED,
    ContactStatus.POSTPONED,
    ContactStatus.MISSED,
)


class JournalTransfers:
    def __init__(
        self,
        *,
        journal: JournalService,
        store: JournalStore,
        ring: RingContacts,
        clock: Callable[[], datetime],
    ) -> None:
        self._journal = journal
        self._store = store
        self._ring = ring
        self._clock = clock
        self.service: TransferService | None = None  # set once built (it needs us as its observer)

    async def transfer_changed(self, transfer: Transfer, actor: str | None) -> None:
        record = self._ring.for_call(transfer.call_id)
        if record is None:
            return  # a call that never rang reception nor was registered: nothing in the journal to note
        data: dict[str, Any] = {
            "transfer_id": transfer.id,
            "status": str(transfer.status),
            "mode": transfer.mode,
            "from_extension": transfer.from_extension,
            "to_extension": transfer.to_extension,
            "to_employee_id": transfer.to_employee_id,
            "reason": transfer.reason,
        }
        who = actor or PBX
        try:
            if (
                transfer.status is TransferStatus.COMPLETED
                and transfer.to_employee_id
                and record.responsible_employee_id != transfer.to_employee_id
                and ContactStatus(record.status) in _TAKEN_OVER
            ):
                # The call is with them now: so is the contact (their pop already carries it).
                await self._journal.change(
                    record.id,
                    # What the PBX did, not a choice: recorded even outside the purpose's group
                    # (the history then says so, as an override).
                    Change({"responsible_employee_id": transfer.to_employee_id}, override=True),
                    who,
                    kind="transferred",
                )
            else:
                await self._journal.settle(record.id)
                await self._store.add_event(
                    record.id, EventRecord(uuid7(), self._clock(), who, "transfer", data)
                )
        except (JournalError, StoreUnavailableError, ContactNotFoundError) as exc:
            log.warning(
                "journal.transfer_not_recorded",
                contact_id=record.id,
                transfer_id=transfer.id,
                reason=str(exc),
            )

    async def contact_facts(self, call_id: str) -> ContactFacts | None:
        record = self._ring.for_call(call_id)
        if record is None:
            return None
        return facts(record, await self._journal.customer_name(record))

    async def put_through(
        self, call_id: str, employee_id: str, actor: str, confirm: bool = False
    ) -> dict[str, Any]:
        """The registration's `transfer: true`: a blind transfer of the call to the responsible employee."""
        if self.service is None:
            return {"error": {"code": "no_transfers", "message": "transfers are not available"}}
        try:
            transfer = await self.service.start(
                TransferRequest(call_id, employee_id, None, "blind", confirm), actor
            )
        except CallActionError as exc:
            return {"error": {"code": exc.code, "message": str(exc), "field": exc.field, **(exc.extra or {})}}
        return {
            "id": transfer.id,
            "status": str(transfer.status),
            "to_extension": transfer.to_extension,
            "to_employee_id": transfer.to_employee_id,
        }
