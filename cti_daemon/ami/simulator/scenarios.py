"""Call scenarios for the simulated PBX, each the event sequence of the matching recording:
inbound answered (b_inbound_answered), inbound abandoned (c_inbound_abandoned), reception unavailable
(c2_reception_unavailable). Timings are scaled by `speed` so tests run in milliseconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from cti_daemon.ami.simulator.pbx import SimBridge, SimChannel, SimPbx

DID = "74950001122"
_DIAL_VARS = [
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
]
_RTP_VARS = ["RTPAUDIOQOS", "RTPAUDIOQOSJITTER", "RTPAUDIOQOSLOSS", "RTPAUDIOQOSRTT", "RTPAUDIOQOSMES"]


@dataclass(frozen=True, slots=True)
class InboundCall:
    number: str
    name: str = ""
    extension: str = "100"
    did: str = DID
    answer: bool = True
    ring_s: float = 2.0
    talk_s: float = 5.0


@dataclass(slots=True)
class CallHandle:
    """What a test can ask of a call the simulator placed."""

    call_id: str
    caller: SimChannel
    dest: SimChannel | None = None
    ringing_at: float | None = None  # loop time the DialBegin was written


async def place_inbound(
    pbx: SimPbx, call: InboundCall, *, speed: float = 1.0, started: asyncio.Future[CallHandle] | None = None
) -> CallHandle:
    """Run one inbound call to its end. `started` resolves once the phone rings (tests wait on it)."""
    trunk = pbx.new_channel(
        "PJSIP/trunk",
        caller_num=call.number,
        caller_name=call.name,
        context="from-trunk",
        exten=call.did,
        state=4,
    )
    handle = CallHandle(trunk.linkedid, trunk)
    pbx.varset(trunk, "SIPDOMAIN", "127.0.0.1")
    pbx.newexten(trunk, "NoOp", f"Inbound call from {call.number} to DID {call.did}")
    trunk.priority = 2
    pbx.newexten(trunk, "Dial", f"PJSIP/{call.extension},30,tT")
    for var in _DIAL_VARS:
        pbx.varset(trunk, var, "")
    endpoint = pbx.endpoints.get(call.extension)
    if endpoint is None or not endpoint.registered:
        await _unavailable(pbx, trunk, started, handle)
        return handle
    dest = pbx.new_channel(
        f"PJSIP/{call.extension}",
        caller_num=call.extension,
        caller_name=endpoint.name,
        context="internal",
        exten="s",
        state=0,
        linkedid=trunk.linkedid,
    )
    handle.dest = dest
    pbx.varset(dest, "DIALEDPEERNUMBER", call.extension)
    dest.exten = call.did
    pbx.newexten(dest, "AppDial", "(Outgoing Line)")
    pbx.connected_line(dest, call.number, call.name)
    handle.ringing_at = asyncio.get_running_loop().time()
    pbx.dial_begin(trunk, dest, call.extension)
    pbx.connected_line(trunk, call.extension, endpoint.name)
    pbx.set_state(dest, 5)
    pbx.refresh_endpoint(call.extension)
    pbx.varset(trunk, "RINGTIME", "0")
    pbx.varset(trunk, "RINGTIME_MS", "2")
    pbx.set_trunk("INUSE")
    pbx.dial_state(trunk, dest, "RINGING")
    if started is not None and not started.done():
        started.set_result(handle)
    await asyncio.sleep(call.ring_s * speed)
    if not call.answer:
        _caller_cancels(pbx, trunk, dest, call.extension)
        return handle
    if trunk.uniqueid not in pbx.channels or dest.uniqueid not in pbx.channels:
        return handle  # hung up from outside (a test, a transfer) while ringing
    bridge = answer(pbx, trunk, dest, call.extension)
    await asyncio.sleep(call.talk_s * speed)
    if trunk.uniqueid in pbx.channels and trunk.bridge == bridge.id:
        caller_hangs_up(pbx, trunk, dest, call.extension)
    return handle


def answer(pbx: SimPbx, trunk: SimChannel, dest: SimChannel, extension: str) -> SimBridge:
    pbx.set_state(dest, 6)
    pbx.varset(trunk, "DIALSTATUS", "ANSWER")
    pbx.refresh_endpoint(extension)
    pbx.varset(trunk, "DIALEDPEERNAME", dest.name)
    pbx.varset(trunk, "DIALEDPEERNUMBER", extension)
    pbx.dial_end(trunk, dest, "ANSWER")
    pbx.set_state(trunk, 6)
    bridge = pbx.bridge_create()
    dest.exten = ""
    pbx.newexten(dest, "AppDial", "(Outgoing Line)")
    pbx.bridge_enter(bridge, dest)
    pbx.bridge_enter(bridge, trunk)
    pbx.varset(dest, "BRIDGEPEER", trunk.name)
    pbx.varset(trunk, "BRIDGEPEER", dest.name)
    for var in _RTP_VARS:
        pbx.varset(trunk, var, "ssrc=0;themssrc=0;lp=0;rxjitter=0.000000")
        pbx.varset(dest, f"{var}BRIDGED", "ssrc=0;themssrc=0;lp=0;rxjitter=0.000000")
    return bridge


def caller_hangs_up(pbx: SimPbx, trunk: SimChannel, dest: SimChannel, extension: str) -> None:
    pbx.hangup_request(trunk, 16)
    pbx.varset(trunk, "BRIDGEPEER", "")
    _cdr(pbx, trunk, dest, "ANSWERED")
    bridge = pbx.bridges.get(trunk.bridge or "")
    if bridge is not None:
        pbx.bridge_leave(bridge, trunk)
    pbx.varset(trunk, "DIALSTATUS", "ANSWER")
    pbx.hangup_request(trunk, 16, soft=True)
    pbx.hangup(trunk, 16)
    pbx.set_trunk("NOT_INUSE")
    if bridge is not None:
        pbx.bridge_leave(bridge, dest)
        for var in _RTP_VARS:
            pbx.varset(dest, var, "ssrc=0;themssrc=0;lp=0;rxjitter=0.000000")
        pbx.bridge_destroy(bridge)
    pbx.hangup(dest, 16)
    pbx.refresh_endpoint(extension)


def _caller_cancels(pbx: SimPbx, trunk: SimChannel, dest: SimChannel, extension: str) -> None:
    if trunk.uniqueid not in pbx.channels:
        return
    pbx.hangup_request(trunk, 127)
    if dest.uniqueid in pbx.channels:
        pbx.dial_end(trunk, dest, "CANCEL")
    pbx.varset(trunk, "DIALSTATUS", "CANCEL")
    pbx.hangup_request(trunk, 16, soft=True)
    if dest.uniqueid in pbx.channels:
        pbx.hangup(dest, 127)
        pbx.refresh_endpoint(extension)
    _cdr(pbx, trunk, dest, "NO ANSWER")
    pbx.hangup(trunk, 127)
    pbx.set_trunk("NOT_INUSE")


async def _unavailable(
    pbx: SimPbx, trunk: SimChannel, started: asyncio.Future[CallHandle] | None, handle: CallHandle
) -> None:
    pbx.varset(trunk, "DIALSTATUS", "CHANUNAVAIL")
    if started is not None and not started.done():
        started.set_result(handle)
    await asyncio.sleep(0)
    pbx.hangup(trunk, 3, [("TechCause", "404")])


def _cdr(pbx: SimPbx, trunk: SimChannel, dest: SimChannel, disposition: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    pbx.emit(
        "Cdr",
        "cdr,all",
        [
            ("AccountCode", ""),
            ("Source", trunk.caller_num),
            ("Destination", trunk.exten),
            ("DestinationContext", trunk.context),
            ("CallerID", f'"{trunk.caller_name}" <{trunk.caller_num}>'),
            ("Channel", trunk.name),
            ("DestinationChannel", dest.name),
            ("LastApplication", "Dial"),
            ("LastData", f"{dest.device},30,tT"),
            ("StartTime", now),
            ("AnswerTime", now),
            ("EndTime", now),
            ("Duration", "0"),
            ("BillableSeconds", "0"),
            ("Disposition", disposition),
            ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", trunk.uniqueid),
            ("UserField", ""),
        ],
    )
