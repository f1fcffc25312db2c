"""Adapters from the daemon's live state to the plain views the API handlers read.

The tracker keeps calls and lines for its own purpose; these functions take a snapshot the API can
serialise. When the tracker grows its own snapshot API (`call_views()`), only this module changes.
"""

from __future__ import annotations

from collections.abc import Callable

from cti_daemon.ami.call_events import LineStatus
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.api.calls import CallView
from cti_daemon.api.lines import LineView


def line_views(tracker: CallTracker, directory: LineDirectory) -> list[LineView]:
    """Every line the tracker has seen, and every employee's extension (unknown until its first event)."""
    known = tracker.lines.lines()
    out = [
        LineView(ext, line.status.value, directory.employee_at(ext), line.call_id, line.queue_view)
        for ext, line in known.items()
    ]
    out.extend(
        LineView(ext, LineStatus.UNKNOWN.value, directory.employee_at(ext), None)
        for ext in directory.extensions()
        if ext not in known
    )
    return sorted(out, key=lambda v: v.extension)


def line_status(tracker: CallTracker, extension: str) -> str:
    line = tracker.lines.lines().get(extension)
    return line.status.value if line is not None else LineStatus.UNKNOWN.value


def call_views(
    tracker: CallTracker, contact_of: Callable[[str], str | None] = lambda _call_id: None
) -> list[CallView]:
    """`contact_of(call_id)`: the journal's contact of the call, the one its pops and call events carry."""
    out: list[CallView] = []
    for call in tracker.calls.values():
        talking = sorted(call.talking)
        ringing = sorted(call.ringing)
        state = "talking" if talking else "ringing" if ringing else "dialing"
        caller = call.caller
        out.append(
            CallView(
                call.call_id,
                (caller.number or None) if caller else None,
                (caller.name or None) if caller else None,
                state,
                ringing,
                talking,
                contact_of(call.call_id),
            )
        )
    return sorted(out, key=lambda v: v.call_id)


class CallSeats:
    """`api.transfers.Seats` from the tracker and the directory: an employee's extension, and whether it
    rings or talks in a call."""

    def __init__(self, tracker: CallTracker, directory: LineDirectory) -> None:
        self._tracker = tracker
        self._directory = directory

    def extension_of(self, employee_id: str) -> str | None:
        return self._directory.extension_of_employee(employee_id)

    def in_call(self, extension: str, call_id: str) -> bool:
        view = self._tracker.call_view(call_id)
        return view is not None and (extension in view.ringing or extension in view.talking)
