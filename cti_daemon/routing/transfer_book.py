"""Transfers in flight: one per call at most, advanced by what the PBX reports (call events), never by
what we asked for. Pure: call events in, changed transfers out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallRinging,
    CallTransferred,
    RingStopped,
)
from cti_daemon.ids import uuid7

Mode = Literal["blind", "attended"]


class TransferStatus(StrEnum):
    STARTING = "starting"  # asked of the PBX, not yet confirmed
    RINGBACK = "ringback"  # the PBX reports the target ringing with this call
    ANSWERED = "answered"  # attended: the target talks with the transferer, the caller waits
    COMPLETED = "completed"  # the caller is with the target
    ABANDONED = "abandoned"  # the target did not answer, the caller hung up, or the transfer was cancelled
    FAILED = "failed"  # the PBX refused or never confirmed


FINAL = frozenset({TransferStatus.COMPLETED, TransferStatus.ABANDONED, TransferStatus.FAILED})


@dataclass(frozen=True, slots=True)
class Transfer:
    id: str
    call_id: str
    mode: Mode
    from_extension: str | None
    to_extension: str
    to_employee_id: str | None
    status: TransferStatus
    started_at: datetime
    updated_at: datetime
    reason: str | None = None
    contact_id: str | None = None

    @property
    def active(self) -> bool:
        return self.status not in FINAL


class TransferConflictError(Exception):
    def __init__(self, existing: Transfer) -> None:
        super().__init__(
            f"call {existing.call_id} is already being transferred (transfer {existing.id}, "
            f"{existing.status})"
        )
        self.existing = existing


class TransferBook:
    def __init__(self, *, keep_finished: int = 1000) -> None:
        self._by_id: dict[str, Transfer] = {}
        self._active_by_call: dict[str, str] = {}
        self._keep = keep_finished

    def get(self, transfer_id: str) -> Transfer | None:
        return self._by_id.get(transfer_id)

    def active_for(self, call_id: str) -> Transfer | None:
        tid = self._active_by_call.get(call_id)
        return self._by_id.get(tid) if tid else None

    def start(
        self,
        *,
        call_id: str,
        mode: Mode,
        from_extension: str | None,
        to_extension: str,
        to_employee_id: str | None,
        now: datetime,
        contact_id: str | None = None,
    ) -> Transfer:
        existing = self.active_for(call_id)
        if existing is not None:
            raise TransferConflictError(existing)
        transfer = Transfer(
            uuid7(),
            call_id,
            mode,
            from_extension,
            to_extension,
            to_employee_id,
            TransferStatus.STARTING,
            now,
            now,
            contact_id=contact_id,
        )
        self._store(transfer)
        return transfer

    def settle(
        self, transfer_id: str, status: TransferStatus, now: datetime, reason: str | None = None
    ) -> Transfer:
        """Set a status from outside the event stream (the PBX refused, a timeout, a cancel)."""
        transfer = self._by_id[transfer_id]
        if not transfer.active:
            return transfer
        changed = replace(transfer, status=status, updated_at=now, reason=reason or transfer.reason)
        self._store(changed)
        return changed

    def observe(self, event: CallEvent, now: datetime) -> list[Transfer]:
        call_id = getattr(event, "call_id", None)
        if call_id is None:
            return []
        transfer = self.active_for(call_id)
        if transfer is None:
            return []
        new = _next(transfer, event)
        if new is None or new == transfer.status:
            return []
        reason = _reason(event) if new is TransferStatus.ABANDONED else None
        changed = replace(transfer, status=new, updated_at=now, reason=reason)
        self._store(changed)
        return [changed]

    def _store(self, transfer: Transfer) -> None:
        self._by_id[transfer.id] = transfer
        if transfer.active:
            self._active_by_call[transfer.call_id] = transfer.id
        elif self._active_by_call.get(transfer.call_id) == transfer.id:
            del self._active_by_call[transfer.call_id]
        if len(self._by_id) > self._keep + len(self._active_by_call):
            for tid in [t for t, v in self._by_id.items() if not v.active][: len(self._by_id) // 10 or 1]:
                del self._by_id[tid]


def _next(transfer: Transfer, event: CallEvent) -> TransferStatus | None:
    target = transfer.to_extension
    status = transfer.status
    if isinstance(event, CallRinging) and event.extension == target and status is TransferStatus.STARTING:
        return TransferStatus.RINGBACK
    if isinstance(event, CallAnswered) and event.extension == target:
        return TransferStatus.COMPLETED if transfer.mode == "blind" else TransferStatus.ANSWERED
    if isinstance(event, CallTransferred) and event.to_extension == target:
        return TransferStatus.COMPLETED
    if isinstance(event, RingStopped) and event.extension == target and status is TransferStatus.RINGBACK:
        return TransferStatus.ABANDONED
    if isinstance(event, CallEnded):
        # A blind transfer whose target answered is complete; anything else ends unfinished.
        return TransferStatus.ABANDONED
    return None


def _reason(event: CallEvent) -> str:
    if isinstance(event, RingStopped):
        return "the target did not answer" if event.reason == "ended" else f"ring stopped ({event.reason})"
    if isinstance(event, CallEnded):
        return f"the call ended ({event.cause_text or event.cause})"
    return "abandoned"
