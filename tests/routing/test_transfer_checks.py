"""Whether a transfer may start: the checks made before anything is asked of the PBX (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti_daemon.ami.call_events import LineStatus, Party
from cti_daemon.ami.calls import CallView, LegView
from cti_daemon.ami.directory import LineDirectory, LineOwner
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.routing.call_actions import CallActionError, LineState
from cti_daemon.routing.transfer_book import TransferBook
from cti_daemon.routing.transfer_checks import TransferRequest, check_call, check_target, resolve_target

CALLER = Party("+79161234567", "Ivan Petrov")


def _view(**kw: object) -> CallView:
    base: dict[str, object] = {
        "call_id": "c1",
        "caller": CALLER,
        "state": "up",
        "ringing": (),
        "talking": ("100",),
        "legs": (LegView("100", "PJSIP/100-1", "up"),),
        "caller_channel": "PJSIP/trunk-0",
        "transferer_channel": "PJSIP/100-1",
    }
    base.update(kw)
    return CallView(**base)  # type: ignore[arg-type]


def _refusal(check: object) -> CallActionError:
    with pytest.raises(CallActionError) as caught:
        check()  # type: ignore[operator]
    return caught.value


def test_given_a_transfer_made_from_a_phone_is_under_way_then_another_is_refused() -> None:
    refusal = _refusal(
        lambda: check_call(_view(transferring=True, transfer_target="202"), None, "201", "x", "blind")
    )
    assert refusal.code == "transfer_in_progress" and "to 202 (from a phone)" in refusal.message


def test_given_our_own_transfer_under_way_then_the_refusal_names_it() -> None:
    book = TransferBook()
    active = book.start(
        call_id="c1",
        mode="blind",
        from_extension="100",
        to_extension="201",
        to_employee_id="e-201",
        now=datetime(2026, 11, 23, tzinfo=UTC),
    )
    refusal = _refusal(lambda: check_call(_view(), active, "202", "to_extension", "blind"))
    assert (
        refusal.code == "transfer_in_progress" and active.id in refusal.message and refusal.field == "call_id"
    )


def test_given_the_target_already_rings_with_the_caller_then_target_in_call() -> None:
    refusal = _refusal(lambda: check_call(_view(ringing=("201",)), None, "201", "to_extension", "blind"))
    assert refusal.code == "target_in_call" and "201 is already ringing" in refusal.message


def test_given_a_call_ringing_at_100_then_attended_is_not_answered_and_blind_deflects_it() -> None:
    view = _view(state="ringing", talking=(), ringing=("100",), transferer_channel=None)
    refusal = _refusal(lambda: check_call(view, None, "201", "x", "attended"))
    assert refusal.code == "call_not_answered" and "put through blind" in refusal.message
    check_call(view, None, "201", "x", "blind")  # the caller's channel is Redirected: no refusal


def test_given_a_call_that_rings_nowhere_yet_then_not_answered_in_either_mode() -> None:
    view = _view(state="ringing", talking=(), ringing=(), legs=(), transferer_channel=None)
    for mode in ("blind", "attended"):
        refusal = _refusal(lambda mode=mode: check_call(view, None, "201", "x", mode))
        assert refusal.code == "call_not_answered" and "rings nowhere" in refusal.message


@pytest.mark.parametrize(
    ("status", "mode", "code"),
    [
        (LineStatus.UNKNOWN, "attended", "line_state_unknown"),
        (LineStatus.OFFLINE, "attended", "line_offline"),
        (LineStatus.RINGING, "blind", "target_busy"),
        (LineStatus.TALKING, "blind", "target_busy"),
    ],
)
def test_given_a_target_line_that_cannot_take_the_caller_then_refused(
    status: LineStatus, mode: str, code: str
) -> None:
    refusal = _refusal(lambda: check_target(LineState("201", status), mode, "to_employee"))  # type: ignore[arg-type]
    assert refusal.code == code and refusal.field == "to_employee"


@pytest.mark.parametrize(("status", "mode"), [(LineStatus.READY, "blind"), (LineStatus.TALKING, "attended")])
def test_given_a_target_line_that_can_take_the_caller_then_no_refusal(status: LineStatus, mode: str) -> None:
    check_target(LineState("201", status), mode, "to_extension")  # type: ignore[arg-type]


def test_given_employees_and_lines_then_targets_resolve_to_an_extension_and_employee() -> None:
    directory = LineDirectory([LineOwner("e-201", "201", ("PJSIP/201",))])
    views = CallTracker(directory)

    def resolve(employee: str | None, extension: str | None) -> tuple[str, str | None]:
        field = "to_employee" if employee else "to_extension"
        return resolve_target(TransferRequest("c1", employee, extension), field, directory, views)

    assert resolve("e-201", None) == ("201", "e-201") and resolve(None, "201") == ("201", "e-201")
    views.handle({"Event": "DeviceStateChange", "Device": "PJSIP/300", "State": "NOT_INUSE"})
    assert resolve(None, "300") == ("300", None)  # nobody sits there, but the PBX knows the line
    missing = _refusal(lambda: resolve(None, "301"))
    assert missing.kind == "not_found" and missing.code == "unknown_extension"
    nobody = _refusal(lambda: resolve("e-9", None))
    assert nobody.kind == "not_found" and nobody.field == "to_employee"
