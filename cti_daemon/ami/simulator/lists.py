"""What the simulated PBX answers to the list actions (as in the f_lists recording), and its truth.

`device_states`, `hints` and `channels` are the items of DeviceStateList, ExtensionStateList and
CoreShowChannels. `truth` is what a perfect observer would know right now (calls and what rings and
talks where, each line's status): tests compare the daemon's view with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cti_daemon.ami.simulator.pbx import HINT_STATUS, Headers, SimPbx, snapshot

_LINE_STATUS = {
    "NOT_INUSE": "ready",
    "INUSE": "talking",
    "BUSY": "talking",
    "ONHOLD": "talking",
    "RINGINUSE": "talking",
    "RINGING": "ringing",
    "UNAVAILABLE": "offline",
}


@dataclass(frozen=True, slots=True)
class CallTruth:
    call_id: str
    ringing: tuple[str, ...]
    talking: tuple[str, ...]


def device_states(pbx: SimPbx) -> list[Headers]:
    items: list[Headers] = [
        [("Device", f"PJSIP/{ext}"), ("State", ep.device_state)] for ext, ep in pbx.endpoints.items()
    ]
    items.append([("Device", "PJSIP/trunk"), ("State", pbx.trunk_state)])
    items.extend(pbx.queues.device_items())
    return items


def hints(pbx: SimPbx) -> list[Headers]:
    out: list[Headers] = []
    for ext, ep in pbx.endpoints.items():
        code, text = HINT_STATUS[ep.device_state]
        out.append(
            [
                ("Exten", ext),
                ("Context", "internal"),
                ("Hint", f"PJSIP/{ext}"),
                ("Status", str(code)),
                ("StatusText", text),
            ]
        )
    return out


def channels(pbx: SimPbx) -> list[Headers]:
    now = time.monotonic()
    out: list[Headers] = []
    for chan in pbx.channels.values():
        secs = int(now - chan.created)
        out.append(
            [
                *snapshot(chan),
                ("Application", chan.application),
                ("ApplicationData", chan.app_data),
                ("Duration", f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"),
                ("BridgeId", chan.bridge or ""),
            ]
        )
    return out


def truth(pbx: SimPbx) -> tuple[list[CallTruth], dict[str, str]]:
    """(calls in progress, each extension's line status). An extension rings in a call while one of its
    channels there is Ringing and none is Up; it talks while one is Up (the call's own first channel
    excluded: that is the caller's side)."""
    by_call: dict[str, tuple[set[str], set[str]]] = {}
    for chan in pbx.channels.values():
        ringing, talking = by_call.setdefault(chan.linkedid, (set(), set()))
        ext = chan.device.removeprefix("PJSIP/")
        if ext not in pbx.endpoints or chan.uniqueid == chan.linkedid:
            continue
        if chan.state == 6:
            talking.add(ext)
        elif chan.state == 5:
            ringing.add(ext)
    calls = [
        CallTruth(call_id, tuple(sorted(r - t)), tuple(sorted(t)))
        for call_id, (r, t) in sorted(by_call.items())
    ]
    lines = {ext: _LINE_STATUS.get(ep.device_state, "unknown") for ext, ep in sorted(pbx.endpoints.items())}
    return calls, lines
