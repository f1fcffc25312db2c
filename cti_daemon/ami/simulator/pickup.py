"""Call pickup as Asterisk 22 does it (tests/traces/asterisk-22-batch3: directed_pickup, group_pickup).

The picker's phone dials a code (`**100`: PickupChan(PJSIP/100) in the dialplan; `*8`: the group pickup
inside chan_pjsip) and is answered at once in a call of its own; then Asterisk swaps it into the ringing
leg's place with no Rename event: `Event: Pickup`, the caller's DialEnd ANSWER naming the picker's channel,
and the rung leg hung up (directed: SoftHangupRequest then Cause 26; group: Cause 16 alone). The picker
takes the caller's linkedid once bridged.
"""

from __future__ import annotations

import asyncio

from cti_daemon.ami.simulator import flows
from cti_daemon.ami.simulator.pbx import SimChannel, SimPbx, snapshot


def dial_pickup_code(pbx: SimPbx, picker_ext: str, target: SimChannel, *, group: bool) -> SimChannel:
    """The picker dials the code: a channel of its own, Up at once, already showing the rung caller."""
    endpoint = pbx.endpoints[picker_ext]
    picker = pbx.new_channel(
        f"PJSIP/{picker_ext}",
        caller_num=picker_ext,
        caller_name=endpoint.name,
        context="internal",
        exten="*8" if group else f"**{target.device.removeprefix('PJSIP/')}",
        state=4,
    )
    if not group:
        picker.application, picker.app_data = "PickupChan", target.device
        pbx.newexten(picker, picker.application, picker.app_data)
    pbx.connected_line(picker, target.conn_num, target.conn_name)
    pbx.set_state(picker, 6)
    pbx.refresh_endpoint(picker_ext)
    return picker


def take_over(
    pbx: SimPbx, caller: SimChannel, target: SimChannel, picker: SimChannel, *, group: bool
) -> None:
    """The swap: the picker answers the caller in the rung leg's place; the rung leg hangs up."""
    pbx.emit("Pickup", "call,all", [*snapshot(picker), *snapshot(target, "Target")])
    pbx.connected_line(caller, picker.caller_num, picker.caller_name)
    flows.stop_dialing(pbx, caller, target)
    pbx.dial_end(caller, picker, "ANSWER")
    pbx.set_state(caller, 6)
    if not group:
        pbx.hangup_request(target, 16, soft=True)
    bridge = pbx.bridge_create()
    target.exten, target.priority = picker.exten, picker.priority  # the masquerade swapped them
    target.taken_by = picker
    target.picked_up.set()
    flows.gone(pbx, target, 16 if group else 26)
    pbx.bridge_enter(bridge, picker)
    picker.linkedid = caller.linkedid
    pbx.bridge_enter(bridge, caller)


def caller_hangs_up(pbx: SimPbx, caller: SimChannel) -> None:
    """After a pickup the caller's HangupRequest carries no Cause (recorded); the rest is as usual."""
    if caller.uniqueid not in pbx.channels:
        return
    pbx.emit("HangupRequest", "call,all", snapshot(caller))
    flows.hangup(pbx, caller, 16, by="ami")


async def pickup(pbx: SimPbx, number: str, name: str, *, picker_ext: str, group: bool) -> None:
    """directed_pickup / group_pickup: 100 rings and does not answer; 2.9 s later `picker_ext` picks the
    call up; the caller talks 8 s with it, then hangs up."""
    trunk = flows.inbound(pbx, number, name)
    rung: asyncio.Future[SimChannel] = asyncio.get_running_loop().create_future()

    def ringing(dest: SimChannel) -> None:
        if not rung.done():
            rung.set_result(dest)

    dialled = pbx.spawn(flows.dial(pbx, trunk, "100", answer=False, on_ringing=ringing))
    done, _ = await asyncio.wait({rung, dialled}, return_when=asyncio.FIRST_COMPLETED)
    if rung not in done:
        rung.cancel()
        status, _ = dialled.result()
        flows.dial_failed(pbx, trunk, status)
        return
    target = rung.result()
    await pbx.sleep(2.9)
    if target.uniqueid not in pbx.channels or trunk.uniqueid not in pbx.channels:
        return
    picker = dial_pickup_code(pbx, picker_ext, target, group=group)
    await pbx.sleep(0.5)
    if target.uniqueid not in pbx.channels:
        flows.hangup(pbx, picker, 16)
        return
    take_over(pbx, trunk, target, picker, group=group)
    await dialled
    await pbx.sleep(8.0)
    caller_hangs_up(pbx, trunk)
