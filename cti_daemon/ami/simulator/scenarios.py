"""Call scenarios of the simulated PBX, each the event sequence of a recording in tests/traces:

| scenario | recording |
|---|---|
| registration: phones register and unregister | a_registration |
| inbound answered / abandoned (caller hangs up) / reception unavailable | b_, c_inbound_abandoned, c2_ |
| redirect, blind transfer, attended transfer to staff | d1_redirect, d2_blindtransfer, e_atxfer |
| click to dial | h_originate |
| staff busy: a blind transfer to a phone already in a call | (no recording: 486 Busy, cause 17) |
| queue member offline: 202 un-registers and registers, is paused, unpaused | batch3/queue_member_* |
| pickup (**100), group_pickup (*8) | asterisk-22-batch3/directed_pickup, group_pickup |
| caller_side_transfer: 201 calls 202 and transfers 202 to 203 | asterisk-22-batch3/caller_side_blind |
| caller_side_attended: the same, attended (Atxfer), completed by 201 hanging up | caller_side_attended |
| attended_cancel: reception consults 201, then cancels | asterisk-22-batch3/attended_cancel |

The timings are the recordings'; `speed` scales them (tests run at 0.01).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from cti_daemon.ami.simulator import caller_transfers, flows, phones, pickup, queue_scenarios, transfers
from cti_daemon.ami.simulator.flows import DID
from cti_daemon.ami.simulator.pbx import SimChannel, SimPbx

__all__ = ["DID", "SCENARIOS", "CallHandle", "InboundCall", "Scenario", "place_inbound"]


@dataclass(frozen=True, slots=True)
class InboundCall:
    number: str
    name: str = ""
    extension: str = "100"
    did: str = DID
    answer: bool = True
    ring_s: float = 2.0
    talk_s: float | None = 5.0  # None: the caller stays until something else ends the call


@dataclass(slots=True)
class CallHandle:
    """What a test can ask of a call the simulator placed."""

    call_id: str
    caller: SimChannel
    dest: SimChannel | None = None
    ringing_at: float | None = None  # loop time the phone started ringing
    answered: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self.answered = asyncio.Event()


async def place_inbound(
    pbx: SimPbx, call: InboundCall, *, speed: float = 1.0, started: asyncio.Future[CallHandle] | None = None
) -> CallHandle:
    """Run one inbound call to its end. `started` resolves once the phone rings (or the call failed)."""
    trunk = flows.inbound(pbx, call.number, call.name, call.did)
    handle = CallHandle(trunk.linkedid, trunk)

    def ringing(dest: SimChannel) -> None:
        handle.dest = dest
        handle.ringing_at = asyncio.get_running_loop().time()
        if started is not None and not started.done():
            started.set_result(handle)

    if not call.answer:
        pbx.spawn(_caller_gives_up(pbx, trunk, call.ring_s * speed))
    status, dest = await flows.dial(
        pbx, trunk, call.extension, ring_s=call.ring_s * speed, answer=call.answer, on_ringing=ringing
    )
    if started is not None and not started.done():
        started.set_result(handle)
    if dest is None:
        await asyncio.sleep(0)
        flows.dial_failed(pbx, trunk, status)
        return handle
    assert handle.answered is not None
    handle.answered.set()
    if call.talk_s is not None:
        await pbx.sleep(call.talk_s * speed)
        flows.hangup(pbx, trunk, 16)
    return handle


async def _caller_gives_up(pbx: SimPbx, trunk: SimChannel, after_s: float) -> None:
    await pbx.sleep(after_s)
    flows.hangup(pbx, trunk, 127)


async def _answered_at_reception(pbx: SimPbx, call: InboundCall) -> tuple[CallHandle, SimChannel] | None:
    """The start of every transfer scenario: reception answers; returns the call and reception's channel."""
    handle = await place_inbound(pbx, InboundCall(call.number, call.name, ring_s=call.ring_s, talk_s=None))
    if handle.dest is None or handle.dest.uniqueid not in pbx.channels:
        return None
    return handle, handle.dest


async def _talk_then_hang_up(pbx: SimPbx, caller: SimChannel, talk_s: float) -> None:
    await pbx.sleep(talk_s)
    flows.hangup(pbx, caller, 16)


async def _until(pbx: SimPbx, ready: Callable[[], bool | None], limit_s: float = 40.0) -> bool:
    """Poll the PBX's state (flows run in other tasks) until `ready` says True or None (give up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s * pbx.speed
    while loop.time() < deadline:
        verdict = ready()
        if verdict is not False:
            return bool(verdict)
        await asyncio.sleep(0.002)
    return False


async def _until_bridged_with(pbx: SimPbx, caller: SimChannel, extension: str) -> bool:
    """Until the caller talks with `extension` (directly, or through a Local pair after an attended
    transfer); False when the caller is gone first."""

    def check() -> bool | None:
        if caller.uniqueid not in pbx.channels:
            return None
        device = f"PJSIP/{extension}"
        return any(
            c.device == device and c.state == 6 and c.linkedid == caller.linkedid
            for c in pbx.channels.values()
        ) and (caller.bridge is not None)

    return await _until(pbx, check)


# --- scenarios -----------------------------------------------------------------------------------------
async def registration(pbx: SimPbx) -> None:
    """a_registration: phones start unregistered; 100 and 201 register, unregister, 100 again."""
    for ext in ("100", "201"):
        pbx.endpoints[ext].registered = False
        pbx.endpoints[ext].device_state = "UNAVAILABLE"
    for step, ext in (
        (phones.register, "100"),
        (phones.register, "201"),
        (phones.unregister, "201"),
        (phones.unregister, "100"),
        (phones.register, "100"),
        (phones.register, "100"),  # a refresh: only the security events
    ):
        await pbx.sleep(1.0)
        step(pbx, ext)


async def inbound_answered(pbx: SimPbx, call: InboundCall) -> None:
    await place_inbound(pbx, call)


async def inbound_abandoned(pbx: SimPbx, call: InboundCall) -> None:
    await place_inbound(pbx, InboundCall(call.number, call.name, answer=False, ring_s=6.0))


async def transfer_to_staff(
    pbx: SimPbx, call: InboundCall, *, mode: str, target: str = "201", talk_s: float = 8.0
) -> None:
    """Reception answers, talks 2 s, moves the caller to `target`; the caller talks, then hangs up."""
    answered = await _answered_at_reception(pbx, call)
    if answered is None:
        return
    handle, reception = answered
    await pbx.sleep(2.0)
    if reception.uniqueid not in pbx.channels:
        return
    if mode == "redirect":
        transfers.redirect(pbx, handle.caller, "internal", target)
    elif mode == "blind":
        transfers.blind_transfer(pbx, reception, "internal", target)
    else:
        pbx.spawn(transfers.atxfer(pbx, reception, "internal", target))
        if await _until_consulted(pbx, reception):
            await pbx.sleep(7.0)
            flows.hangup(pbx, reception, 16)  # the receptionist hangs up: the transfer completes
    if await _until_bridged_with(pbx, handle.caller, target):
        await _talk_then_hang_up(pbx, handle.caller, talk_s)


async def _until_consulted(pbx: SimPbx, transferer: SimChannel) -> bool:
    """Until the target of the attended transfer answered; False if the transfer ended first."""
    await asyncio.sleep(0)  # the atxfer flow starts in its own task

    def check() -> bool | None:
        state = pbx.atxfers.get(transferer.uniqueid)
        if state is None or transferer.uniqueid not in pbx.channels:
            return None
        return state.target is not None

    return await _until(pbx, check)


async def staff_busy(pbx: SimPbx, call: InboundCall, target: str = "201") -> None:
    """201 is on a call (one line, no call waiting); reception blind-transfers a second caller to 201,
    whose phone answers 486 Busy Here: the second caller is hung up with cause 17 (User busy)."""
    pbx.endpoints[target].call_waiting = False
    first = pbx.spawn(
        transfer_to_staff(
            pbx, InboundCall("+79035550001", ring_s=call.ring_s), mode="blind", target=target, talk_s=20.0
        )
    )
    await _until(pbx, lambda: pbx.endpoints[target].device_state == "INUSE")
    await transfer_to_staff(pbx, call, mode="blind", target=target)
    await first


async def click_to_dial(pbx: SimPbx, _call: InboundCall) -> None:
    """h_originate, without the AMI client: 201 clicks to call reception, talks, hangs up."""
    answered, _, chan = await transfers.originate(
        pbx, "PJSIP/201", "internal", "100", caller_id=("201", "Click2Call"), timeout_s=20.0
    )
    if answered and await _until_bridged_with(pbx, chan, "100"):
        await pbx.sleep(4.0)
        flows.hangup(pbx, chan, 16, by="ami")  # as the recording's client did: Action Hangup


@dataclass(frozen=True, slots=True)
class Scenario:
    about: str
    run: Callable[[SimPbx, InboundCall], Coroutine[Any, Any, None]]
    recording: str | None = None


async def _reg(pbx: SimPbx, _call: InboundCall) -> None:
    await registration(pbx)


async def _unavailable(pbx: SimPbx, call: InboundCall) -> None:
    pbx.endpoints["100"].registered = False
    pbx.endpoints["100"].device_state = "UNAVAILABLE"
    await place_inbound(pbx, call)


async def _queue_member_offline(pbx: SimPbx, _call: InboundCall) -> None:
    await queue_scenarios.queue_member_offline(pbx)


async def _missed_at_employee(pbx: SimPbx, call: InboundCall) -> None:
    from cti_daemon.ami.simulator import missed_calls  # noqa: PLC0415 - it builds on this module

    await missed_calls.missed_at_employee(pbx, call)


async def _queue_abandon(pbx: SimPbx, call: InboundCall) -> None:
    from cti_daemon.ami.simulator import missed_calls  # noqa: PLC0415 - it builds on this module

    await missed_calls.queue_abandon(pbx, call)


def _transfer(mode: str) -> Callable[[SimPbx, InboundCall], Coroutine[Any, Any, None]]:
    async def run(pbx: SimPbx, call: InboundCall) -> None:
        await transfer_to_staff(pbx, call, mode=mode)

    return run


SCENARIOS: dict[str, Scenario] = {
    "registration": Scenario("phones 100 and 201 register and unregister", _reg, "a_registration"),
    "inbound": Scenario(
        "reception (100) answers after 2 s, the caller hangs up 5 s later",
        inbound_answered,
        "b_inbound_answered",
    ),
    "inbound-abandoned": Scenario(
        "reception rings; the caller hangs up after 6 s", inbound_abandoned, "c_inbound_abandoned"
    ),
    "reception-unavailable": Scenario(
        "reception's phone is not registered: cause 3", _unavailable, "c2_reception_unavailable"
    ),
    "redirect": Scenario(
        "reception answers, the caller is redirected to 201", _transfer("redirect"), "d1_redirect"
    ),
    "blind-transfer": Scenario(
        "reception answers and blind-transfers the caller to 201", _transfer("blind"), "d2_blindtransfer"
    ),
    "attended-transfer": Scenario(
        "reception consults 201, then hangs up: the transfer completes", _transfer("attended"), "e_atxfer"
    ),
    "staff-busy": Scenario("a blind transfer to 201 while 201 is on another call: 486, cause 17", staff_busy),
    "click-to-dial": Scenario("201 clicks to call reception (Originate)", click_to_dial, "h_originate"),
    "missed-at-employee": Scenario(
        "a caller dials 201 straight; nobody answers; the caller hangs up", _missed_at_employee
    ),
    "queue-abandon": Scenario(
        "a caller waits in queue service while 201 rings, and gives up", _queue_abandon
    ),
    # Named as in the issue that asked for it (the others use dashes).
    "queue_member_offline": Scenario(
        "202, a member of queue service, un-registers and registers, then is paused and unpaused",
        _queue_member_offline,
    ),
}


# --- recorded in asterisk-22-batch3 (their flows live in pickup.py and caller_transfers.py) ---------------
async def _pickup(pbx: SimPbx, call: InboundCall) -> None:
    await pickup.pickup(pbx, call.number, call.name, picker_ext="201", group=False)


async def _group_pickup(pbx: SimPbx, call: InboundCall) -> None:
    await pickup.pickup(pbx, call.number, call.name, picker_ext="202", group=True)


async def _caller_side_transfer(pbx: SimPbx, _call: InboundCall) -> None:
    await caller_transfers.caller_side_blind(pbx)


async def _caller_side_attended(pbx: SimPbx, _call: InboundCall) -> None:
    await caller_transfers.caller_side_attended(pbx)


async def attended_cancel(pbx: SimPbx, call: InboundCall) -> None:
    """attended_cancel: reception answers, consults 201 (Atxfer), 2 s after 201 answered cancels
    (CancelAtxfer): back with the caller, who hangs up 8 s later."""
    answered = await _answered_at_reception(pbx, call)
    if answered is None:
        return
    handle, reception = answered
    await pbx.sleep(2.0)
    if reception.uniqueid not in pbx.channels:
        return
    pbx.spawn(transfers.atxfer(pbx, reception, "internal", "201"))
    if await _until_consulted(pbx, reception):
        await pbx.sleep(2.0)
        if reception.uniqueid in pbx.atxfers:
            transfers.cancel_atxfer(pbx, reception)
    if reception.uniqueid in pbx.channels:
        await _talk_then_hang_up(pbx, handle.caller, 8.0)


SCENARIOS.update(
    {
        "pickup": Scenario(
            "100 rings; 201 dials **100 and picks the call up", _pickup, "asterisk-22-batch3/directed_pickup"
        ),
        "group_pickup": Scenario(
            "100 rings; 202 picks the call up with *8", _group_pickup, "asterisk-22-batch3/group_pickup"
        ),
        "caller_side_transfer": Scenario(
            "201 calls 202, then 201 blind-transfers 202 to 203",
            _caller_side_transfer,
            "asterisk-22-batch3/caller_side_blind",
        ),
        "caller_side_attended": Scenario(
            "201 calls 202, then 201 consults 203 (Atxfer) and hangs up: 202 is with 203",
            _caller_side_attended,
            "asterisk-22-batch3/caller_side_attended",
        ),
        "attended_cancel": Scenario(
            "reception consults 201, then cancels: back with the caller",
            attended_cancel,
            "asterisk-22-batch3/attended_cancel",
        ),
    }
)
