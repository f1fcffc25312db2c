"""Transfers follow the PBX's events: ringback, answered, completed, abandoned; one per call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallRinging,
    CallTransferred,
    LineChanged,
    LineStatus,
    Party,
    RingStopped,
)
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.routing.transfer_book import (
    Mode,
    Transfer,
    TransferBook,
    TransferConflictError,
    TransferStatus,
)
from tests.support.traces import trace_messages

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
    assert gone.status is TransferStatus.ABANDONED and gone.reason == "201 did not answer"
    tid = _start(book)  # a new transfer of the same call may start once the first is over
    book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-2"), T0)
    [ended] = book.observe(CallEnded("c1", 16, "Normal Clearing"), T0)
    assert ended.id == tid and ended.status is TransferStatus.ABANDONED
    assert ended.reason == "the call ended (Normal Clearing)"


def test_given_settled_transfer_then_later_events_change_nothing() -> None:
    book = TransferBook()
    tid = _start(book)
    book.settle(tid, TransferStatus.FAILED, T0, "no such channel")
    assert book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0) == []
    assert book.get(tid).reason == "no such channel"  # type: ignore[union-attr]


def test_given_blind_transfer_then_the_pbx_announcing_it_before_the_target_rings_is_not_completion() -> None:
    book = TransferBook()
    _start(book)
    # d2_blindtransfer's order: Event BlindTransfer first, then the caller dials 201.
    assert book.observe(CallTransferred("c1", "blind", "100", "201"), T0) == []
    assert book.active_for("c1").status is TransferStatus.STARTING  # type: ignore[union-attr]
    [ringing] = book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0)
    assert ringing.status is TransferStatus.RINGBACK


def test_given_the_caller_is_cut_off_before_the_target_rings_then_failed_not_abandoned() -> None:
    book = TransferBook()
    _start(book)
    book.observe(CallTransferred("c1", "blind", "100", "201"), T0)
    [failed] = book.observe(CallEnded("c1", 3, "No route to destination"), T0)
    assert failed.status is TransferStatus.FAILED
    assert failed.reason == "the call ended before 201 rang (No route to destination)"


def test_given_attended_consultation_when_the_target_hangs_up_then_abandoned_by_its_line_going_free() -> None:
    book = TransferBook()
    _start(book, "attended")
    book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0)
    book.observe(CallAnswered("c1", "201", CALLER), T0)
    assert book.observe(LineChanged("202", LineStatus.READY, None), T0) == []  # another line
    assert book.observe(LineChanged("201", LineStatus.TALKING, "c1"), T0) == []
    [gone] = book.observe(LineChanged("201", LineStatus.READY, None), T0)
    assert gone.status is TransferStatus.ABANDONED and gone.reason is not None
    assert gone.reason.startswith("201 hung up during the consultation")


def test_given_attended_transfer_ringing_when_target_line_is_ready_then_only_ring_stopped_counts() -> None:
    book = TransferBook()
    _start(book, "attended")
    book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0)
    assert book.observe(LineChanged("201", LineStatus.READY, None), T0) == []
    # An unanswered consultation: the transferer still talks with the caller, so the tracker says
    # "answered_elsewhere"; for the transfer it means the target did not answer.
    [gone] = book.observe(RingStopped("c1", "201", "answered_elsewhere"), T0)
    assert gone.status is TransferStatus.ABANDONED and gone.reason == "201 did not answer"


def _replayed(trace: str, mode: Mode) -> list[Transfer]:
    """The recorded Asterisk session through the real tracker into the book, the transfer started as the
    recording's client started it (after 100 answered)."""
    tracker = CallTracker(LineDirectory())
    book = TransferBook()
    seen: list[Transfer] = []
    for msg in trace_messages(f"asterisk-22/{trace}"):
        events: list[CallEvent] = tracker.handle(msg)
        for event in events:
            seen.extend(book.observe(event, T0))
            if isinstance(event, CallAnswered) and event.extension == "100":
                seen.append(
                    book.start(
                        call_id=event.call_id,
                        mode=mode,
                        from_extension="100",
                        to_extension="201",
                        to_employee_id=None,
                        now=T0,
                    )
                )
    return seen


def test_given_the_recorded_blind_transfer_then_starting_ringback_completed() -> None:
    seen = _replayed("d2_blindtransfer", "blind")
    assert [t.status for t in seen] == [
        TransferStatus.STARTING,
        TransferStatus.RINGBACK,
        TransferStatus.COMPLETED,
    ]


def test_given_the_recorded_redirect_then_starting_ringback_completed() -> None:
    seen = _replayed("d1_redirect", "blind")
    assert [t.status for t in seen] == [
        TransferStatus.STARTING,
        TransferStatus.RINGBACK,
        TransferStatus.COMPLETED,
    ]


def test_given_the_recorded_attended_transfer_then_ringback_answered_completed_when_reception_hangs_up() -> (
    None
):
    seen = _replayed("e_atxfer", "attended")
    assert [t.status for t in seen] == [
        TransferStatus.STARTING,
        TransferStatus.RINGBACK,
        TransferStatus.ANSWERED,
        TransferStatus.COMPLETED,
    ]


def test_given_a_cancel_asked_of_the_pbx_then_the_abandonment_that_follows_is_that_cancel() -> None:
    book = TransferBook()
    tid = _start(book, "attended")
    book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0)
    book.ask(tid, "cancel", "reception-console")
    # CancelAtxfer's events arrive before its answer: 201 stops ringing.
    [gone] = book.observe(RingStopped("c1", "201", "answered_elsewhere"), T0)
    assert gone.status is TransferStatus.ABANDONED and gone.asked_by == "reception-console"
    assert gone.reason == "cancelled by reception-console; the caller is back with 100"


def test_given_a_cancel_the_pbx_refused_then_a_later_abandonment_has_its_own_reason() -> None:
    book = TransferBook()
    tid = _start(book, "attended")
    book.observe(CallRinging("c1", "201", CALLER, "PJSIP/201-1"), T0)
    book.ask(tid, "cancel", "reception-console")
    book.ask(tid, None)
    [gone] = book.observe(RingStopped("c1", "201", "ended"), T0)
    assert gone.reason == "201 did not answer" and gone.asked_by is None
