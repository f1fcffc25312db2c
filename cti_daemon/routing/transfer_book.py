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
    LineChanged,
    LineStatus,
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
    channel: str | None = None  # the transferer's channel the PBX was asked to move the caller from
    # A cancel or a completion asked of the PBX (and by whom): the events that follow are its outcome.
    asked: Literal["complete", "cancel"] | None = None
    asked_by: str | None = None

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

    @property
    def any_active(self) -> bool:
        return bool(self._active_by_call)

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
        channel: str | None = None,
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
            channel=channel,
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
        return self._advance(transfer, status, reason, now)

    def ask(
        self, transfer_id: str, what: Literal["complete", "cancel"] | None, actor: str | None = None
    ) -> Transfer:
        """Note that a cancel or completion is being asked of the PBX (None: the PBX refused it). Its events
        often arrive before its answer: the abandonment that follows a cancel is that cancel."""
        transfer = self._by_id[transfer_id]
        if not transfer.active:
            return transfer
        changed = replace(transfer, asked=what, asked_by=actor if what else None)
        self._store(changed)
        return changed

    def observe(self, event: CallEvent, now: datetime) -> list[Transfer]:
        if isinstance(event, LineChanged):
            return self._line_changed(event, now)
        transfer = self.active_for(event.call_id)
        if transfer is None:
            return []
        new = _next(transfer, event)
        if new is None or new == transfer.status:
            return []
        return [self._advance(transfer, new, _reason(transfer, event), now)]

    def _line_changed(self, event: LineChanged, now: datetime) -> list[Transfer]:
        """An attended transfer's target that talked with the transferer and whose line is free again hung
        up: no call event says so (it was not ringing, and the call goes on with the transferer)."""
        if event.status not in (LineStatus.READY, LineStatus.OFFLINE):
            return []
        changed: list[Transfer] = []
        for tid in list(self._active_by_call.values()):
            transfer = self._by_id[tid]
            if transfer.to_extension == event.extension and transfer.status is TransferStatus.ANSWERED:
                reason = _reason(transfer, event)
                changed.append(self._advance(transfer, TransferStatus.ABANDONED, reason, now))
        return changed

    def _advance(
        self, transfer: Transfer, status: TransferStatus, reason: str | None, now: datetime
    ) -> Transfer:
        if status is TransferStatus.ABANDONED and transfer.asked == "cancel":
            back = f"; the caller is back with {transfer.from_extension}" if transfer.from_extension else ""
            reason = f"cancelled by {transfer.asked_by}{back}"
        changed = replace(transfer, status=status, updated_at=now, reason=reason or transfer.reason)
        self._store(changed)
        return changed

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
    if isinstance(event, CallRinging):
        ringing = event.extension == target and status is TransferStatus.STARTING
        return TransferStatus.RINGBACK if ringing else None
    if isinstance(event, CallAnswered):
        if event.extension != target:
            return None
        return TransferStatus.COMPLETED if transfer.mode == "blind" else TransferStatus.ANSWERED
    if isinstance(event, CallTransferred):
        # Asterisk announces a blind transfer (Event: BlindTransfer) before the target even rings: only an
        # attended one is finished by its transfer event (the transferer left, the caller is with the target).
        done = transfer.mode == "attended" and event.to_extension == target
        return TransferStatus.COMPLETED if done else None
    if isinstance(event, RingStopped):
        stopped = event.extension == target and status is TransferStatus.RINGBACK
        return TransferStatus.ABANDONED if stopped else None
    if isinstance(event, CallEnded):
        return TransferStatus.FAILED if status is TransferStatus.STARTING else TransferStatus.ABANDONED
    return None


def _reason(transfer: Transfer, event: CallEvent) -> str | None:
    target = transfer.to_extension
    if isinstance(event, RingStopped):
        # "answered_elsewhere" here means the transferer still talks with the caller (an attended
        # transfer's consultation was not answered): for the transfer it is the same story.
        return f"{target} did not answer"
    if isinstance(event, CallEnded):
        why = event.cause_text or f"cause {event.cause}"
        if transfer.status is TransferStatus.STARTING:
            return f"the call ended before {target} rang ({why})"
        return f"the call ended ({why})"
    if isinstance(event, LineChanged):
        return f"{target} hung up during the consultation; the caller is back with the transferer"
    return None
