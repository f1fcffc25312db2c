"""Transfers follow the PBX's events: ringback, answered, completed, abandoned; one per call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallTransferred,
    Party,
    RingStopped,
)
from cti_daemon.routing.transfer_book import Mode, TransferBook, TransferConflictError, TransferStatus

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CALLER = Party("+79161234567", "Ivan")


def _start(book: TransferBook, mode: Mode = "blind") -> str:
    return book.start(
        call_id="c1",
        mode=mode,
        from_extension="100",
        to_extension="201",
        to_employee_id="e-201",
        now=T0,
    ).id


def test_given_blind_transfer_when_target_rings_then_answers_then_ringback_then_completed() -> None:
    book = TransferBook()
    tid = _start(book)
    assert book.observe(CallRinging("c1", "202", CALLER, "PJSIP/202-1"), T0) == []  # another line
    [ringing] = book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0)
    assert ringing.status is TransferStatus.RINGBACK
    [done] = book.observe(CallAnswered("c1", "201", CALLER), T0)
    assert done.status is TransferStatus.COMPLETED and book.active_for("c1") is None
    assert book.get(tid).status is TransferStatus.COMPLETED  # type: ignore[union-attr]


def test_given_attended_transfer_then_answered_waits_for_the_pbx_to_report_completion() -> None:
    book = TransferBook()
    _start(book, "attended")
    book.observe(CallRinging("c1", "201", CALLER, "Local/201@internal-1;2"), T0)
    [answered] = book.observe(CallAnswered("c1", "201", CALLER), T0)
    assert answered.status is TransferStatus.ANSWERED
    [done] = book.observe(CallTransferred("c1", "attended", "100", "201"), T0)
    assert done.status is TransferStatus.COMPLETED


def test_given_a_transfer_under_way_when_another_is_asked_then_conflict_naming_the_first() -> None:
    book = TransferBook()
    tid = _start(book)
    with pytest.raises(TransferConflictError) as err:
        _start(book)
    assert err.value.existing.id == tid


def test_given_target_does_not_answer_or_caller_hangs_up_then_abandoned_with_a_reason() -> None:
    book = TransferBook()
    _start(book)
    book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0)
    [gone] = book.observe(RingStopped("c1", "201", "ended"), T0)
    assert gone.status is TransferStatus.ABANDONED and gone.reason == "the target did not answer"
    tid = _start(book)  # a new transfer of the same call may start once the first is over
    [ended] = book.observe(CallEnded("c1", 16, "Normal Clearing"), T0)
    assert ended.id == tid and ended.reason == "the call ended (Normal Clearing)"


def test_given_settled_transfer_then_later_events_change_nothing() -> None:
    book = TransferBook()
    tid = _start(book)
    book.settle(tid, TransferStatus.FAILED, T0, "no such channel")
    assert book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0) == []
    assert book.get(tid).reason == "no such channel"  # type: ignore[union-attr]
