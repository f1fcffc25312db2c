"""Calls between phones, and transfers made by the caller's own side (tests/traces/asterisk-22-batch3:
caller_side_blind, caller_side_attended): 201 calls 202, and 201 (the channel that ran Dial) transfers 202
to 203. Blind: 202, the former callee, dials 203 inside the same call, and the call is 202 -> 203 in every
field. Attended: transfers.atxfer consults 203 from 201 (202's phone on hold), 201's hangup completes it.

The channel that ran Dial() gets a SoftHangupRequest when its dialplan ends (its bridge party hung up, or
it was transferred away); the dialled one does not: recorded for both ends here.
"""

from __future__ import annotations

from cti_daemon.ami.simulator import flows, transfers
from cti_daemon.ami.simulator.pbx import SimChannel, SimPbx


def phone_dials(pbx: SimPbx, extension: str, to: str) -> SimChannel:
    """A phone places a call: its channel (Ring), running internal,<to>."""
    endpoint = pbx.endpoints[extension]
    chan = pbx.new_channel(
        f"PJSIP/{extension}",
        caller_num=extension,
        caller_name=endpoint.name,
        context="internal",
        exten=to,
        state=4,
    )
    pbx.refresh_endpoint(extension)
    return chan


def dialled_hangs_up(pbx: SimPbx, dialled: SimChannel, dialler: SimChannel) -> None:
    """The dialled phone sends BYE: it leaves; the dialling channel's Dial returns and it hangs up."""
    if dialled.uniqueid not in pbx.channels:
        return
    pbx.hangup_request(dialled, 16)
    bridge = pbx.bridges.get(dialled.bridge or "")
    if bridge is not None:
        pbx.bridge_leave(bridge, dialled)
        if dialler.uniqueid in bridge.channels:
            pbx.bridge_leave(bridge, dialler)
        pbx.bridge_destroy(bridge)
    flows.gone(pbx, dialled, 16)
    if dialler.uniqueid in pbx.channels:
        pbx.hangup_request(dialler, 16, soft=True)
        flows.gone(pbx, dialler, 16)


def _talking_with(pbx: SimPbx, chan: SimChannel, extension: str) -> SimChannel | None:
    bridge = pbx.bridges.get(chan.bridge or "")
    for uid in bridge.channels if bridge is not None else ():
        other = pbx.channels.get(uid)
        if other is not None and other.device == f"PJSIP/{extension}" and other.state == 6:
            return other
    return None


async def caller_side_blind(
    pbx: SimPbx, *, caller: str = "201", callee: str = "202", to: str = "203"
) -> None:
    """caller_side_blind: 201 calls 202, 202 answers after 2 s; 2.9 s later 201 blind-transfers 202 to
    203 (Action BlindTransfer on 201's channel); 203 answers, talks 6 s, hangs up."""
    a = phone_dials(pbx, caller, callee)
    status, b = await flows.dial(pbx, a, callee, ring_s=2.0)
    if b is None:
        flows.dial_failed(pbx, a, status)
        return
    await pbx.sleep(2.9)
    if a.uniqueid not in pbx.channels:
        return
    transfers.blind_transfer(pbx, a, "internal", to)
    c = None
    for _ in range(800):  # 40 s (scaled) for 203 to answer
        c = _talking_with(pbx, b, to)
        if c is not None or b.uniqueid not in pbx.channels:
            break
        await pbx.sleep(0.05)
    if c is not None:
        await pbx.sleep(6.0)
        dialled_hangs_up(pbx, c, b)


async def caller_side_attended(
    pbx: SimPbx, *, caller: str = "201", callee: str = "202", to: str = "203"
) -> None:
    """caller_side_attended: 201 calls 202 (answered after 2 s); 3.1 s later 201 Atxfers 202 to 203, which
    answers the consultation; 201 hangs up 9 s after 202's answer, which completes the transfer; 203 hangs
    up 11 s after its own answer."""
    a = phone_dials(pbx, caller, callee)
    status, b = await flows.dial(pbx, a, callee, ring_s=2.0)
    if b is None:
        flows.dial_failed(pbx, a, status)
        return
    await pbx.sleep(3.1)
    if a.uniqueid not in pbx.channels:
        return
    consulting = pbx.spawn(transfers.atxfer(pbx, a, "internal", to))
    await consulting
    state = pbx.atxfers.get(a.uniqueid)
    if state is None or state.target is None:
        return
    target = state.target
    await pbx.sleep(5.0)
    flows.hangup(pbx, a, 16)  # completes the transfer
    await pbx.sleep(6.0)
    if target.uniqueid in pbx.channels:
        _target_hangs_up(pbx, target, state.one, state.two)


def _target_hangs_up(pbx: SimPbx, target: SimChannel, one: SimChannel, two: SimChannel) -> None:
    """After the transfer: the target's BYE ends its leg and Local;2 (which dialled it); Local;1 follows
    with a HangupRequest and its bridge with the transferee dissolves (recorded order)."""
    one.partner = two.partner = None
    dialled_hangs_up(pbx, target, two)
    if one.uniqueid not in pbx.channels:
        return
    pbx.hangup_request(one, 16)
    bridge = pbx.bridges.get(one.bridge or "")
    if bridge is not None:
        pbx.bridge_leave(bridge, one)
    flows.gone(pbx, one, 16)
    if bridge is not None:
        flows.dissolve(pbx, bridge)
