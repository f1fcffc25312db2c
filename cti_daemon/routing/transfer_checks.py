"""Whether a transfer may start, checked before anything is asked of the PBX (pure: views in, a refusal
out). The call stays where it was on every refusal."""

from __future__ import annotations

from dataclasses import dataclass

from cti_daemon.ami.call_events import LineStatus
from cti_daemon.ami.calls import CallView
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.routing.call_actions import CallActionError, CallViews, LineState, unavailable
from cti_daemon.routing.transfer_book import Mode, Transfer


@dataclass(frozen=True, slots=True)
class TransferRequest:
    call_id: str
    to_employee: str | None  # exactly one of to_employee and to_extension
    to_extension: str | None
    mode: Mode = "blind"
    confirm: bool = False  # put through even though the employee's presence is busy or away


def resolve_target(
    request: TransferRequest, field: str, directory: LineDirectory, views: CallViews
) -> tuple[str, str | None]:
    """The target's extension and employee (404 material when there is no such line or employee)."""
    if request.to_employee is not None:
        extension = directory.extension_of_employee(request.to_employee)
        if extension is None:
            raise CallActionError(
                "not_found",
                "unknown_employee",
                f"no employee {request.to_employee} with an extension",
                field=field,
            )
        return extension, request.to_employee
    extension = request.to_extension or ""
    employee_id = directory.employee_at(extension)
    if employee_id is None and views.line_view(extension) is None:
        raise CallActionError(
            "not_found",
            "unknown_extension",
            f"no line {extension}: not an employee's extension, and the PBX never reported it",
            field=field,
        )
    return extension, employee_id


def deflects(view: CallView) -> bool:
    """Nobody talks with the caller yet, and the call rings somewhere: a blind transfer Redirects the
    caller's own channel, which ends its ringing (Dial, Queue) and rings the target instead."""
    return view.transferer_channel is None and bool(view.ringing) and view.caller_channel is not None


def check_call(view: CallView, active: Transfer | None, target: str, field: str, mode: Mode) -> None:
    """The call can be transferred now: answered (or, blind, ringing), not already being transferred,
    not to itself."""
    answered = bool(view.talking) and view.transferer_channel is not None
    if not answered and not (mode == "blind" and deflects(view)):
        why = (
            "an attended transfer needs someone talking with the caller; a ringing call is put through blind"
            if deflects(view)
            else "nobody talks with the caller to transfer it from, and it rings nowhere"
        )
        raise CallActionError(
            "conflict",
            "call_not_answered",
            f"call {view.call_id} is not answered yet: {why}",
            field="call_id",
        )
    if active is not None:
        raise in_progress(active)
    if view.transferring:
        where = f" to {view.transfer_target}" if view.transfer_target else ""
        raise CallActionError(
            "conflict",
            "transfer_in_progress",
            f"call {view.call_id} is already being transferred{where} (from a phone)",
            field="call_id",
        )
    if target in view.talking or target in view.ringing:
        doing = "talking" if target in view.talking else "ringing"
        raise CallActionError(
            "conflict",
            "target_in_call",
            f"{target} is already {doing} with this caller",
            field=field,
        )


def check_target(line: LineState, mode: Mode, field: str) -> None:
    """The target's line can take the caller now (Asterisk does not protect the caller: checked first)."""
    target = line.extension
    refused = unavailable(line, field=field, what="the call stays where it is")
    if refused is not None:
        raise refused
    if mode == "blind" and line.status in (LineStatus.RINGING, LineStatus.TALKING):
        raise CallActionError(
            "conflict",
            "target_busy",
            f"line {target} is {line.status}: a phone that refuses a second call would cut the caller "
            f"off after a blind transfer; the call stays where it is (an attended transfer gives the "
            f"caller back if {target} does not answer)",
            field=field,
        )


UNREACHABLE_PRESENCE = frozenset({"busy", "away"})


def check_presence(
    employee_id: str | None, presence: tuple[str, str] | None, confirm: bool, field: str
) -> None:
    """An employee who said they are busy or away (with a note) is asked for only when reception confirms:
    the answer carries the note so the desk can decide (seed 003)."""
    if employee_id is None or presence is None or confirm:
        return
    status, note = presence
    if status not in UNREACHABLE_PRESENCE:
        return
    said = f": {note!r}" if note else ""
    raise CallActionError(
        "conflict",
        "presence_busy",
        f'employee {employee_id} is {status}{said}; send "confirm": true to put the call through anyway',
        field=field,
        extra={"presence": status, "note": note},
    )


def in_progress(existing: Transfer) -> CallActionError:
    return CallActionError(
        "conflict",
        "transfer_in_progress",
        f"call {existing.call_id} is already being transferred: transfer {existing.id} to "
        f"{existing.to_extension} is {existing.status}",
        field="call_id",
    )
