"""What the simulated PBX does for the AMI actions that move calls, with the events of the recordings:
Redirect (d1_redirect), BlindTransfer (d2_blindtransfer), Atxfer and its completion when the transferer
hangs up, CancelAtxfer (e_atxfer), Originate (h_originate)."""

from __future__ import annotations

from dataclasses import dataclass

from cti_daemon.ami.simulator import flows
from cti_daemon.ami.simulator.flows import DIAL_TIMEOUT_S, DialStatus
from cti_daemon.ami.simulator.pbx import (
    HINT_STATUS,
    Headers,
    SimBridge,
    SimChannel,
    SimPbx,
    bridge_headers,
    snapshot,
)


class SimActionError(Exception):
    """An action the PBX refuses; the message is Asterisk's."""


@dataclass(slots=True)
class Atxfer:
    """An attended transfer under way: the transferer consults the target through a Local pair."""

    transferer: SimChannel
    transferee: SimChannel
    one: SimChannel  # Local;1, in the consultation bridge with the transferer
    two: SimChannel  # Local;2, dials the target
    first: SimBridge  # the caller's bridge (the caller waits there, on hold)
    second: SimBridge  # the consultation bridge
    target: SimChannel | None = None

    def complete(self, pbx: SimPbx) -> None:
        complete_atxfer(pbx, self)

    def abort(self, pbx: SimPbx) -> None:
        """The consulted target hung up: Asterisk puts the transferer back with the caller (its attended
        transfer state machine's REBRIDGE), as CancelAtxfer does."""
        cancel_atxfer(pbx, self.transferer, by_code=False)


def _peers(pbx: SimPbx, chan: SimChannel) -> tuple[SimBridge, list[SimChannel]]:
    bridge = pbx.bridges.get(chan.bridge or "")
    if bridge is None:
        raise SimActionError("Channel is not in a bridge")
    return bridge, [pbx.channels[u] for u in bridge.channels if u != chan.uniqueid and u in pbx.channels]


def redirect(pbx: SimPbx, chan: SimChannel, context: str, exten: str) -> None:
    """Redirect: `chan` leaves its bridge for context,exten; whoever was bridged with it is hung up. No
    transfer event of any kind. A caller redirected while its Dial rings ends that Dial first: its legs
    get DialEnd CANCEL and hang up, as when the caller hangs up, but the caller goes on."""
    chan.redirects += 1
    legs = pbx.dialing.pop(chan.uniqueid, [])
    for leg in legs:
        pbx.dial_end(chan, leg, "CANCEL")
    if legs:
        pbx.varset(chan, "DIALSTATUS", "CANCEL")
    for leg in legs:
        flows.gone(pbx, leg, 16)
    chan.context, chan.exten, chan.priority = context, exten, 1
    pbx.newexten(chan, chan.application, chan.app_data)  # a stale application: a recorded quirk
    bridge = pbx.bridges.get(chan.bridge or "")
    if bridge is not None:
        pbx.bridge_leave(bridge, chan)
        flows.dissolve(pbx, bridge)
    pbx.spawn(flows.run_exten(pbx, chan, exten))


def blind_transfer(pbx: SimPbx, transferer: SimChannel, context: str, exten: str) -> None:
    """BlindTransfer: the transferer's bridged party goes to context,exten. Asterisk says Success even
    when the target cannot ring; the caller is then hung up with cause 3."""
    bridge, peers = _peers(pbx, transferer)
    if not peers:
        raise SimActionError("Transfer failed")
    transferee = peers[0]
    pbx.emit("Unhold", "call,all", snapshot(transferer))
    pbx.emit(
        "BlindTransfer",
        "call,all",
        [
            ("Result", "Success"),
            *snapshot(transferer, "Transferer"),
            *snapshot(transferee, "Transferee"),
            *bridge_headers(bridge),
            ("IsExternal", "Yes"),
            ("Context", context),
            ("Extension", exten),
        ],
    )
    transferee.context, transferee.exten, transferee.priority = context, exten, 1
    pbx.bridge_leave(bridge, transferee)
    if transferer.uniqueid == transferer.linkedid:
        _dialler_leaves(pbx, bridge, transferer)  # the caller's own side (caller_transfers.py)
    else:
        flows.dissolve(pbx, bridge)
    pbx.spawn(flows.run_exten(pbx, transferee, exten))


def _dialler_leaves(pbx: SimPbx, bridge: SimBridge, transferer: SimChannel) -> None:
    """The channel that ran Dial transferred its party away: it leaves and its dialplan ends (a
    SoftHangupRequest first, recorded in asterisk-22-batch3/caller_side_blind)."""
    pbx.bridge_leave(bridge, transferer)
    pbx.bridge_destroy(bridge)
    pbx.hangup_request(transferer, 16, soft=True)
    flows.gone(pbx, transferer, 16)


async def atxfer(pbx: SimPbx, transferer: SimChannel, context: str, exten: str) -> None:
    """Atxfer: Asterisk dials the feature code and the target as DTMF on the transferer's channel, holds
    the caller, and a Local pair calls the target. It completes when the transferer hangs up (see
    `flows.hangup`), or is abandoned by `cancel_atxfer`; a target that does not answer abandons it."""
    first, peers = _peers(pbx, transferer)
    if not peers:
        raise SimActionError("Atxfer failed")
    transferee = peers[0]
    for digit in "*2":
        _dtmf(pbx, transferer, digit)
    transferer.held = True
    pbx.emit("Hold", "call,all", snapshot(transferer))
    pbx.emit("MusicOnHoldStart", "call,all", [*snapshot(transferee), ("Class", "default")])
    _hold_device(pbx, transferee, "ONHOLD")
    for digit in exten:
        _dtmf(pbx, transferer, digit)
    target = f"{exten}@{context}"
    one_name, two_name = pbx.local_pair_names(target)
    one, two = (
        pbx.new_channel(
            f"Local/{target}",
            caller_num="<unknown>",
            caller_name="<unknown>",
            context=context,
            exten=exten,
            state=state,
            linkedid=transferer.linkedid,
            name=name,
        )
        for name, state in ((one_name, 0), (two_name, 4))
    )
    one.partner, two.partner = two, one
    second = pbx.bridge_create()
    pbx.caller_id(two, transferer.caller_num, transferer.caller_name)
    pbx.emit(
        "LocalBridge",
        "call,all",
        [
            *snapshot(one, "LocalOne"),
            *snapshot(two, "LocalTwo"),
            ("Context", context),
            ("Exten", exten),
            ("LocalOptimization", "Yes"),
        ],
    )
    pbx.connected_line(one, transferer.caller_num, transferer.caller_name)
    pbx.bridge_enter(second, one)
    pbx.bridge_leave(first, transferer)
    pbx.bridge_enter(second, transferer)
    pbx.connected_line(transferer, "<unknown>", "<unknown>")
    state = Atxfer(transferer, transferee, one, two, first, second)
    pbx.atxfers[transferer.uniqueid] = state
    status, dest = await _consult(pbx, state, exten)
    if dest is None and pbx.atxfers.get(transferer.uniqueid) is state and status != "CANCEL":
        cancel_atxfer(pbx, transferer)  # nobody answered: the transferer is back with the caller


async def _consult(pbx: SimPbx, state: Atxfer, exten: str) -> tuple[DialStatus, SimChannel | None]:
    """Local;2 dials the target; Local;1 rings and answers with it (no DialBegin for Local;1: recorded)."""
    one, two, transferer = state.one, state.two, state.transferer
    endpoint = pbx.endpoints.get(exten)
    if endpoint is None or not endpoint.registered or endpoint.rejects():
        return "CHANUNAVAIL", None
    dest = pbx.new_channel(
        f"PJSIP/{exten}",
        caller_num=exten,
        caller_name=endpoint.name,
        context="internal",
        exten="s",
        state=0,
        linkedid=two.linkedid,
    )
    dest.application, dest.app_data, dest.exten = "AppDial", "(Outgoing Line)", exten
    pbx.connected_line(dest, transferer.caller_num, transferer.caller_name)
    pbx.dialing.setdefault(two.uniqueid, []).append(dest)
    pbx.dial_begin(two, dest, exten)
    pbx.connected_line(two, exten, endpoint.name)
    pbx.connected_line(transferer, exten, endpoint.name)
    pbx.set_state(dest, 5)
    pbx.set_state(one, 5)
    pbx.caller_id(one, exten, endpoint.name)
    pbx.emit("DialState", "call,all", [*snapshot(one, "Dest"), ("DialStatus", "RINGING")])
    pbx.dial_state(two, dest, "RINGING")
    pbx.refresh_endpoint(exten)
    after = endpoint.answer_after_s
    await flows.until_gone(
        pbx, (transferer, one, dest), DIAL_TIMEOUT_S if after is None else after, picked_up=dest.picked_up
    )
    flows.stop_dialing(pbx, two, dest)
    unanswered = after is None and not dest.picked_up.is_set()
    if any(c.uniqueid not in pbx.channels for c in (transferer, one, dest)) or unanswered:
        if dest.uniqueid in pbx.channels:
            pbx.dial_end(two, dest, "NOANSWER")
            flows.gone(pbx, dest, 16)
        return "CANCEL" if transferer.uniqueid not in pbx.channels else "NOANSWER", None
    pbx.set_state(dest, 6)
    pbx.refresh_endpoint(exten)
    pbx.dial_end(two, dest, "ANSWER")
    pbx.set_state(two, 6)
    third = pbx.bridge_create()
    pbx.bridge_enter(third, dest)
    pbx.set_state(one, 6)
    pbx.emit("DialEnd", "call,all", [*snapshot(one, "Dest"), ("DialStatus", "ANSWER")])
    pbx.bridge_enter(third, two)
    state.target = dest
    return "ANSWER", dest


def complete_atxfer(pbx: SimPbx, state: Atxfer) -> None:
    """The transferer hangs up: its consultation bridge merges into the caller's (e_atxfer's order)."""
    transferer, transferee, one = state.transferer, state.transferee, state.one
    first, second = state.first, state.second
    del pbx.atxfers[transferer.uniqueid]
    pbx.hangup_request(transferer, 16)
    pbx.bridge_leave(second, transferer)
    pbx.emit("MusicOnHoldStop", "call,all", snapshot(transferee))
    pbx.emit("BridgeMerge", "call,all", [*_prefixed(first, "To"), *_prefixed(second, "From")])
    pbx.bridge_leave(second, one)
    pbx.bridge_enter(first, one)
    _hold_device(pbx, transferee, "INUSE")
    target = state.target
    assert target is not None
    pbx.connected_line(transferee, target.caller_num, target.caller_name)
    pbx.connected_line(one, transferee.caller_num, transferee.caller_name)
    pbx.emit(
        "AttendedTransfer",
        "call,all",
        [
            ("Result", "Success"),
            *snapshot(transferer, "OrigTransferer"),
            *_prefixed(first, "OrigBridge"),
            *snapshot(transferer, "SecondTransferer"),
            *_prefixed(second, "SecondBridge"),
            *snapshot(transferee, "Transferee"),
            ("IsExternal", "No"),
            ("DestType", "Bridge"),
            ("DestBridgeUniqueid", first.id),
        ],
    )
    pbx.bridge_destroy(second)
    if transferer.uniqueid == transferer.linkedid:  # the caller's own side: its dialplan ends too
        pbx.hangup_request(transferer, 16, soft=True)
    flows.gone(pbx, transferer, 16)
    pbx.connected_line(target, transferee.caller_num, transferee.caller_name)
    if transferee.device != "PJSIP/trunk":
        pbx.caller_id(state.two, transferee.caller_num, transferee.caller_name)


def cancel_atxfer(pbx: SimPbx, transferer: SimChannel, *, by_code: bool = True) -> None:
    """CancelAtxfer (atxferabort, *1 as DTMF on the transferer: no event says "cancelled"; recorded in
    asterisk-22-batch3/attended_cancel): the transferer is back with the caller, then the Local pair and
    the target's leg are hung up."""
    state = pbx.atxfers.pop(transferer.uniqueid, None)
    if state is None:
        raise SimActionError("No attended transfer in progress")
    if by_code:
        for digit in "*1":
            _dtmf(pbx, transferer, digit)
    pbx.bridge_leave(state.second, transferer)
    pbx.bridge_enter(state.first, transferer)
    pbx.emit("MusicOnHoldStop", "call,all", snapshot(state.transferee))
    _hold_device(pbx, state.transferee, "INUSE")
    transferer.held = False
    pbx.emit("Unhold", "call,all", snapshot(transferer))
    one, two = state.one, state.two
    if one.uniqueid in pbx.channels:
        pbx.bridge_leave(state.second, one)
    pbx.bridge_destroy(state.second)
    one.partner = two.partner = None  # the pair goes down here, in the recorded order
    if two.uniqueid in pbx.channels:
        pbx.hangup_request(two, 16)
    if one.uniqueid in pbx.channels:
        flows.gone(pbx, one, 16)
    if two.uniqueid in pbx.channels:
        flows.hangup(pbx, two, 16, by="ami")  # its bridge with the target dissolves: the target hangs up
    pbx.connected_line(transferer, state.transferee.caller_num, state.transferee.caller_name)


def _hold_device(pbx: SimPbx, transferee: SimChannel, state: str) -> None:
    """The transferee's device goes on hold during an attended transfer and back after: the trunk, or a
    phone (PJSIP/202 ONHOLD, hint 16 "Hold": recorded in asterisk-22-batch3/caller_side_attended)."""
    if transferee.device == "PJSIP/trunk":
        pbx.set_trunk(state)
        return
    endpoint = pbx.endpoints.get(transferee.device.removeprefix("PJSIP/"))
    if endpoint is None or endpoint.device_state == state:
        return
    endpoint.device_state = state
    code, text = HINT_STATUS[state]
    pbx.device_state(transferee.device, state)
    pbx.emit(
        "ExtensionStatus",
        "call,all",
        [
            ("Exten", endpoint.extension),
            ("Context", "internal"),
            ("Hint", transferee.device),
            ("Status", str(code)),
            ("StatusText", text),
        ],
    )


def _dtmf(pbx: SimPbx, chan: SimChannel, digit: str) -> None:
    pbx.emit(
        "DTMFEnd",
        "dtmf,all",
        [*snapshot(chan), ("Digit", digit), ("DurationMs", "0"), ("Direction", "Received")],
    )


def _prefixed(bridge: SimBridge, prefix: str) -> Headers:
    return [(prefix + key.removeprefix("Bridge"), value) for key, value in bridge_headers(bridge)]


async def originate(
    pbx: SimPbx,
    device: str,
    context: str,
    exten: str,
    *,
    caller_id: tuple[str, str],
    timeout_s: float,
    channel_id: str | None = None,
) -> tuple[bool, int, SimChannel]:
    """Originate: ring `device`; answered, it runs context,exten (dials it). Returns (answered, the
    OriginateResponse Reason, the originated channel). `channel_id` (the action's ChannelId) becomes the
    channel's uniqueid, so the call's id is known before anything rings."""
    extension = device.removeprefix("PJSIP/")
    endpoint = pbx.endpoints.get(extension)
    num, name = caller_id
    chan = pbx.new_channel(
        device,
        caller_num=extension,
        caller_name=endpoint.name if endpoint else extension,
        context=context,
        exten="s",
        state=0,
        uniqueid=channel_id,
    )
    chan.application, chan.app_data = "AppDial2", "(Outgoing Line)"
    if endpoint is None or not endpoint.registered:
        flows.gone(pbx, chan, 3)
        return False, 0, chan
    pbx.caller_id(chan, num or chan.caller_num, name or chan.caller_name)
    pbx.connected_line(chan, num or chan.caller_num, name or chan.caller_name)
    pbx.emit("DialBegin", "call,all", [*snapshot(chan, "Dest"), ("DialString", extension)])
    if endpoint.rejects():
        pbx.emit("DialEnd", "call,all", [*snapshot(chan, "Dest"), ("DialStatus", "BUSY")])
        flows.gone(pbx, chan, 17)
        return False, 5, chan
    pbx.set_state(chan, 5)
    pbx.refresh_endpoint(extension)
    pbx.emit("DialState", "call,all", [*snapshot(chan, "Dest"), ("DialStatus", "RINGING")])
    after = endpoint.answer_after_s
    ring = min(timeout_s, DIAL_TIMEOUT_S) if after is None else min(after, timeout_s)
    await flows.until_gone(pbx, (chan,), ring, picked_up=chan.picked_up)
    if chan.uniqueid not in pbx.channels:
        return False, 1, chan
    if (after is None or after > timeout_s) and not chan.picked_up.is_set():
        pbx.emit("DialEnd", "call,all", [*snapshot(chan, "Dest"), ("DialStatus", "NOANSWER")])
        flows.gone(pbx, chan, 19)
        return False, 3, chan
    pbx.set_state(chan, 6)
    pbx.emit("DialEnd", "call,all", [*snapshot(chan, "Dest"), ("DialStatus", "ANSWER")])
    pbx.refresh_endpoint(extension)
    chan.exten = exten
    pbx.spawn(flows.run_exten(pbx, chan, exten))
    return True, 4, chan
