"""The expected outcome of each recorded trace (tests/ami/expected/<trace>.json, written by reading the
trace), and the same compact form of what the tracker reports, so the two compare as data."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallerChanged,
    CallEvent,
    CallRinging,
    CallTransferred,
    LineChanged,
    RingStopped,
)
from cti_daemon.ami.calls import CallView
from cti_daemon.ami.directory import LineDirectory, LineOwner

EXPECTED = Path(__file__).resolve().parent.parent / "ami" / "expected"


def expected(trace: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXPECTED / f"{trace}.json").read_text(encoding="utf-8"))
    return data


def directory_for(spec: dict[str, Any]) -> LineDirectory:
    """The directory a trace's expectation names (made-up employees for the cacofonisk devices), or the
    default one: short numeric devices are extensions."""
    owners = [
        LineOwner(o["employee_id"], o["extension"], tuple(o["devices"])) for o in spec.get("directory", [])
    ]
    return LineDirectory(owners)


def compact(events: Iterable[CallEvent]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """(call events in order, each line's statuses in order as "status" or "status@call"; a line event
    that changed only the line's queue memberships is in `compact_queues`, not here)."""
    calls: list[dict[str, Any]] = []
    lines: dict[str, list[str]] = {}
    for e in events:
        if isinstance(e, LineChanged):
            seen = lines.setdefault(e.extension, [])
            now = f"{e.status}@{e.call_id}" if e.call_id else str(e.status)
            if not seen or seen[-1] != now:
                seen.append(now)
        elif isinstance(e, CallRinging):
            calls.append(
                {"ringing": e.extension, "call": e.call_id, "caller": [e.caller.number, e.caller.name]}
            )
        elif isinstance(e, CallAnswered):
            calls.append({"answered": e.extension, "call": e.call_id})
        elif isinstance(e, RingStopped):
            calls.append({"dismissed": e.extension, "call": e.call_id, "reason": e.reason})
        elif isinstance(e, CallerChanged):
            calls.append(
                {
                    "caller_changed": list(e.extensions),
                    "call": e.call_id,
                    "caller": [e.caller.number, e.caller.name],
                }
            )
        elif isinstance(e, CallTransferred):
            calls.append(
                {"transferred": e.mode, "call": e.call_id, "from": e.from_extension, "to": e.to_extension}
            )
        elif isinstance(e, CallEnded):
            caller = [e.caller.number, e.caller.name] if e.caller is not None else None
            ended = {"ended": e.call_id, "cause": e.cause, "text": e.cause_text}
            calls.append({**ended, "caller": caller, "to": e.extension})
    return calls, lines


def compact_queues(events: Iterable[CallEvent]) -> dict[str, list[str]]:
    """Each line's queue pause states in order, as "queue:paused(reason)" or "queue:paused" (joined by ","
    for several queues) and "unpaused"; only changes of pause state (a membership learnt unpaused, as every
    QueueMemberStatus of a member teaches, is not a change of it)."""
    out: dict[str, list[str]] = {}
    for e in events:
        if not isinstance(e, LineChanged):
            continue
        now = (
            ",".join(
                f"{m.queue}:paused({m.reason})" if m.reason else f"{m.queue}:paused"
                for m in e.queues
                if m.paused
            )
            or "unpaused"
        )
        seen = out.get(e.extension)
        if (seen[-1] if seen else "unpaused") != now:
            out.setdefault(e.extension, []).append(now)
    return out


def compact_view(view: CallView) -> dict[str, Any]:
    return {
        "call": view.call_id,
        "caller": [view.caller.number, view.caller.name],
        "state": view.state,
        "ringing": list(view.ringing),
        "talking": list(view.talking),
        "caller_channel": view.caller_channel,
        "transferer_channel": view.transferer_channel,
    }
