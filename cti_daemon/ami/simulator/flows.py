"""What Asterisk's dialplan, Dial() and bridges do, step by step, with the events of the recordings.

Each channel gets its events in the order the Asterisk 22 recordings show for it (tests/traces; the
interleaving between channels is not stable in real Asterisk either). Operations:

- `inbound` (a call from the trunk), `dial` (Dial(PJSIP/x,30,tT): ring, answer or not, bridge);
- `hangup` with its consequences (a bridge's other party leaves and hangs up; a caller hanging up while
  its legs ring cancels them; a Local half takes its partner with it; a transferer hanging up during an
  attended transfer completes it);
- the AMI actions' own flows (transfers, Originate) are in transfers.py.

Phones behave as their `Endpoint` says (answer after some seconds, never, or busy). Delays are scaled by
`pbx.speed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from cti_daemon.ami.simulator.pbx import Headers, SimBridge, SimChannel, SimPbx

DID = "74950001122"
DIAL_TIMEOUT_S = 30.0
DialStatus = Literal["ANSWER", "BUSY", "NOANSWER", "CHANUNAVAIL", "CANCEL"]
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
_FAILED_CAUSE = {"CHANUNAVAIL": 3, "BUSY": 17, "NOANSWER": 19}


# --- the caller's side ---------------------------------------------------------------------------------
def inbound(pbx: SimPbx, number: str, name: str, did: str = DID) -> SimChannel:
    """A call arrives from the trunk and enters from-trunk: NoOp, then (see `dial`) Dial."""
    trunk = pbx.new_channel(
        "PJSIP/trunk", caller_num=number, caller_name=name, context="from-trunk", exten=did, state=4
    )
    pbx.varset(trunk, "SIPDOMAIN", "127.0.0.1")
    trunk.application, trunk.app_data = "NoOp", f"Inbound call from {number} to DID {did}"
    pbx.newexten(trunk, trunk.application, trunk.app_data)
    trunk.priority = 2
    return trunk


async def run_exten(
    pbx: SimPbx, caller: SimChannel, extension: str, *, ring_s: float | None = None
) -> DialStatus:
    """The caller runs internal,<extension>: Dial, then Hangup() when the dial failed."""
    status, _ = await dial(pbx, caller, extension, ring_s=ring_s)
    dial_failed(pbx, caller, status)
    return status


def dial_failed(pbx: SimPbx, caller: SimChannel, status: DialStatus) -> None:
    """After a failed Dial the dialplan hangs the caller up with the leg's cause (c2: 3 + TechCause 404
    for an unregistered phone; 17 busy; 19 no answer)."""
    if status in _FAILED_CAUSE and caller.uniqueid in pbx.channels:
        pbx.hangup_request(caller, 16, soft=True)
        extra: Headers = [("TechCause", "404")] if status == "CHANUNAVAIL" else []
        gone(pbx, caller, _FAILED_CAUSE[status], extra)


async def dial(
    pbx: SimPbx,
    caller: SimChannel,
    extension: str,
    *,
    ring_s: float | None = None,
    answer: bool | None = None,
    on_ringing: Callable[[SimChannel], None] | None = None,
) -> tuple[DialStatus, SimChannel | None]:
    """Dial(PJSIP/<extension>,30,tT) from `caller`. The phone answers after `ring_s` (default: its
    endpoint's `answer_after_s`), never when `answer` is False. Returns the status and, answered, the
    extension's channel, now bridged with the caller."""
    caller.application, caller.app_data = "Dial", f"PJSIP/{extension},30,tT"
    pbx.newexten(caller, caller.application, caller.app_data)
    redirects = caller.redirects
    for var in _DIAL_VARS:
        pbx.varset(caller, var, "")
    endpoint = pbx.endpoints.get(extension)
    if endpoint is None or not endpoint.registered:
        pbx.varset(caller, "DIALSTATUS", "CHANUNAVAIL")
        return "CHANUNAVAIL", None
    dest = pbx.new_channel(
        f"PJSIP/{extension}",
        caller_num=extension,
        caller_name=endpoint.name,
        context="internal",
        exten="s",
        state=0,
        linkedid=caller.linkedid,
    )
    dest.application, dest.app_data = "AppDial", "(Outgoing Line)"
    pbx.varset(dest, "DIALEDPEERNUMBER", extension)
    dest.exten = caller.exten
    pbx.newexten(dest, dest.application, dest.app_data)
    pbx.connected_line(dest, caller.caller_num, caller.caller_name)
    pbx.dialing.setdefault(caller.uniqueid, []).append(dest)
    pbx.dial_begin(caller, dest, extension)
    pbx.connected_line(caller, extension, endpoint.name)
    if endpoint.rejects():
        stop_dialing(pbx, caller, dest)
        pbx.dial_end(caller, dest, "BUSY")
        pbx.hangup(dest, 17)
        pbx.varset(caller, "DIALSTATUS", "BUSY")
        return "BUSY", None
    pbx.set_state(dest, 5)
    pbx.refresh_endpoint(extension)
    pbx.varset(caller, "RINGTIME", "0")
    if caller.device == "PJSIP/trunk":
        pbx.set_trunk("INUSE")
    pbx.dial_state(caller, dest, "RINGING")
    if on_ringing is not None:
        on_ringing(dest)
    after = ring_s if ring_s is not None else endpoint.answer_after_s
    if answer is False or after is None:
        after = DIAL_TIMEOUT_S
        answer = False
    await until_gone(pbx, (caller, dest), min(after, DIAL_TIMEOUT_S), picked_up=dest.picked_up)
    stop_dialing(pbx, caller, dest)
    if caller.redirects != redirects:
        return "CANCEL", None  # Redirected while ringing: transfers.redirect ended this Dial
    if dest.taken_by is not None:  # picked up by another phone: pickup.py did the rest
        return "ANSWER", dest.taken_by
    if caller.uniqueid not in pbx.channels:
        return "CANCEL", None  # the caller hung up: its hangup cancelled this leg
    if dest.uniqueid not in pbx.channels or (answer is False and not dest.picked_up.is_set()):
        if dest.uniqueid in pbx.channels:
            pbx.dial_end(caller, dest, "NOANSWER")
            pbx.hangup(dest, 16)
            pbx.refresh_endpoint(extension)
        pbx.varset(caller, "DIALSTATUS", "NOANSWER")
        return "NOANSWER", None
    connect(pbx, caller, dest, extension)
    return "ANSWER", dest


def connect(pbx: SimPbx, caller: SimChannel, dest: SimChannel, extension: str) -> SimBridge:
    """The phone answers: DialEnd ANSWER and a bridge with the caller (b_inbound_answered's order)."""
    pbx.set_state(dest, 6)
    pbx.varset(caller, "DIALSTATUS", "ANSWER")
    pbx.refresh_endpoint(extension)
    pbx.varset(caller, "DIALEDPEERNAME", dest.name)
    pbx.dial_end(caller, dest, "ANSWER")
    if caller.state != 6:
        pbx.set_state(caller, 6)
    bridge = pbx.bridge_create()
    dest.exten = ""
    pbx.newexten(dest, dest.application, dest.app_data)
    pbx.bridge_enter(bridge, dest)
    pbx.bridge_enter(bridge, caller)
    pbx.varset(dest, "BRIDGEPEER", caller.name)
    pbx.varset(caller, "BRIDGEPEER", dest.name)
    for var in _RTP_VARS:
        pbx.varset(caller, var, "ssrc=0;themssrc=0;lp=0;rxjitter=0.000000")
    return bridge


# --- hanging up ----------------------------------------------------------------------------------------
def hangup(pbx: SimPbx, chan: SimChannel, cause: int = 16, *, by: Literal["far", "ami"] = "far") -> None:
    """`chan` hangs up: "far" when its phone or the caller's side sends BYE/CANCEL, "ami" for a Hangup
    action. Everything that follows from it happens too."""
    if chan.uniqueid not in pbx.channels:
        return
    pending = pbx.atxfers.get(chan.uniqueid)
    if pending is not None and pending.target is not None and pending.transferee.uniqueid in pbx.channels:
        pending.complete(pbx)  # the transferer hanging up completes its attended transfer
        return
    for consulting in list(pbx.atxfers.values()):
        if consulting.one is chan and consulting.target is not None:
            consulting.abort(pbx)  # the consulted target hung up (its Local pair goes with it)
            return
    legs = pbx.dialing.pop(chan.uniqueid, [])
    if legs:  # hanging up while its legs ring: a CANCEL (c_inbound_abandoned)
        cancel_cause = 127 if by == "far" else cause
        pbx.hangup_request(chan, cancel_cause)
        for leg in legs:
            pbx.dial_end(chan, leg, "CANCEL")
        pbx.varset(chan, "DIALSTATUS", "CANCEL")
        pbx.hangup_request(chan, 16, soft=True)
        for leg in legs:
            gone(pbx, leg, cancel_cause)
        cdr(pbx, chan, legs[0], "NO ANSWER")
        gone(pbx, chan, cancel_cause)
        return
    if by == "far":
        pbx.hangup_request(chan, cause)
    bridge = pbx.bridges.get(chan.bridge or "")
    if bridge is not None:
        pbx.bridge_leave(bridge, chan)
    pbx.hangup_request(chan, 16, soft=True)
    gone(pbx, chan, cause)
    if bridge is not None:
        dissolve(pbx, bridge)


def dissolve(pbx: SimPbx, bridge: SimBridge) -> None:
    """A two-party bridge lost a party: the others leave it and hang up (their dialplan ends)."""
    others = [pbx.channels[uid] for uid in list(bridge.channels) if uid in pbx.channels]
    for other in others:
        pbx.bridge_leave(bridge, other)
    pbx.bridge_destroy(bridge)
    for other in others:
        gone(pbx, other, 16)


def gone(pbx: SimPbx, chan: SimChannel, cause: int, extra: Headers | None = None) -> None:
    pbx.hangup(chan, cause, extra)
    pbx.atxfers.pop(chan.uniqueid, None)
    _stop_dialing_all(pbx, chan)
    if chan.device == "PJSIP/trunk":
        if not any(c.device == "PJSIP/trunk" for c in pbx.channels.values()):
            pbx.set_trunk("NOT_INUSE")
    elif chan.device.removeprefix("PJSIP/") in pbx.endpoints:
        pbx.refresh_endpoint(chan.device.removeprefix("PJSIP/"))
    partner = chan.partner
    if partner is not None and partner.uniqueid in pbx.channels:
        # A Local pair lives and dies together; the surviving half learns who was on the other side.
        pbx.hangup_request(partner, 16)
        pbx.caller_id(partner, chan.conn_num, chan.conn_name)
        hangup(pbx, partner, 16, by="ami")


def stop_dialing(pbx: SimPbx, caller: SimChannel, dest: SimChannel) -> None:
    legs = pbx.dialing.get(caller.uniqueid)
    if legs is not None and dest in legs:
        legs.remove(dest)
        if not legs:
            del pbx.dialing[caller.uniqueid]


def _stop_dialing_all(pbx: SimPbx, dest: SimChannel) -> None:
    for caller_id, legs in list(pbx.dialing.items()):
        if dest in legs:
            legs.remove(dest)
            if not legs:
                del pbx.dialing[caller_id]


async def until_gone(
    pbx: SimPbx, chans: tuple[SimChannel, ...], seconds: float, *, picked_up: asyncio.Event | None = None
) -> None:
    """Until one of `chans` hangs up, the ringing phone is picked up by hand, or `seconds` (scaled)."""
    waits = [asyncio.ensure_future(c.gone.wait()) for c in chans]
    if picked_up is not None:
        waits.append(asyncio.ensure_future(picked_up.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds * pbx.speed, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


def cdr(pbx: SimPbx, caller: SimChannel, dest: SimChannel, disposition: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    pbx.emit(
        "Cdr",
        "cdr,all",
        [
            ("AccountCode", ""),
            ("Source", caller.caller_num),
            ("Destination", caller.exten),
            ("DestinationContext", caller.context),
            ("CallerID", f'"{caller.caller_name}" <{caller.caller_num}>'),
            ("Channel", caller.name),
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
            ("UniqueID", caller.uniqueid),
            ("UserField", ""),
        ],
    )
