"""Who hears of a transfer's changes, in the order they happened: the log, the target employee (a
`transfer` notify when the target rings) and an optional observer (the journal records transfers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from cti_daemon import logs
from cti_daemon.ami.call_events import Party
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.call_actions import CallViews
from cti_daemon.routing.notify_rules import ContactFacts, transfer_notice
from cti_daemon.routing.transfer_book import Transfer, TransferStatus

log = logs.get("cti.routing.transfers")

Clock = Callable[[], datetime]
ContactFactsFn = Callable[[str], Awaitable[ContactFacts | None]]  # the contact of a call id, if any


class TransferObserver(Protocol):
    """Hears of every transfer change, in order (the journal records them). `actor` is who asked (the API
    token's name), None when the change is what the PBX reported."""

    async def transfer_changed(self, transfer: Transfer, actor: str | None) -> None: ...


class TransferReports:
    def __init__(
        self,
        *,
        out: AgentPort,
        clock: Clock,
        views: CallViews,
        observer: TransferObserver | None,
        contact_facts: ContactFactsFn | None,
    ) -> None:
        self._out = out
        self._clock = clock
        self._views = views
        self._observer = observer
        self._contact_facts = contact_facts
        self._last: asyncio.Task[None] | None = None  # reports run one after the other, in this chain

    def report(self, transfer: Transfer, actor: str | None) -> None:
        log.info(
            "transfer.changed",
            transfer_id=transfer.id,
            call_id=transfer.call_id,
            status=str(transfer.status),
            extension=transfer.to_extension,
            employee_id=transfer.to_employee_id,
            reason=transfer.reason,
            actor=actor,
        )
        view = self._views.call_view(transfer.call_id)  # the caller as now, while the call is there
        caller = view.caller if view is not None else None
        previous = self._last
        task = asyncio.get_running_loop().create_task(self._after(previous, transfer, actor, caller))
        self._last = task

    async def close(self) -> None:
        if self._last is not None:
            self._last.cancel()
            await asyncio.gather(self._last, return_exceptions=True)

    async def _after(
        self,
        previous: asyncio.Task[None] | None,
        transfer: Transfer,
        actor: str | None,
        caller: Party | None,
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            if transfer.status is TransferStatus.RINGBACK and transfer.to_employee_id is not None:
                await self._notify_target(transfer, transfer.to_employee_id, caller)
            if self._observer is not None:
                await self._observer.transfer_changed(transfer, actor)
        except Exception:  # a failing observer must not stop the reports after it
            log.exception("transfer.report_failed", transfer_id=transfer.id, call_id=transfer.call_id)

    async def _notify_target(self, transfer: Transfer, employee_id: str, caller: Party | None) -> None:
        facts = await self._contact_facts(transfer.call_id) if self._contact_facts is not None else None
        contact_id: str | None = transfer.contact_id
        if facts is not None:
            notice = transfer_notice(
                facts, employee_id, transfer.from_extension, attended=transfer.mode == "attended"
            )
            text, contact_id = notice.text, notice.contact_id
        else:
            text = plain_notice(transfer, caller)
        self._out.notify(
            employee_id=employee_id,
            kind="transfer",
            contact_id=contact_id,
            text=text,
            at=self._clock(),
            call_id=transfer.call_id,
            transfer_id=transfer.id,
            mode=transfer.mode,
            from_extension=transfer.from_extension,
            caller={"number": caller.number or None, "name": caller.name or None} if caller else None,
        )
        log.info(
            "transfer.notified", transfer_id=transfer.id, call_id=transfer.call_id, employee_id=employee_id
        )


def plain_notice(transfer: Transfer, caller: Party | None) -> str:
    """The notify's text when no contact is known for the call: who is put through, from where."""
    who = "unknown caller"
    if caller is not None and caller.name and caller.number:
        who = f"{caller.name} ({caller.number})"
    elif caller is not None and (caller.name or caller.number):
        who = caller.name or caller.number
    by = transfer.from_extension or "reception"
    if transfer.mode == "attended":
        return f"Attended transfer from {by}: {who}; {by} speaks to you first"
    return f"Call put through to you from {by}: {who}"
