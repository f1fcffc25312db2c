"""Missed-call scenarios of issue 14 (no recording yet; the events are Asterisk 18's, as documented for
app_queue): a call that rings an employee's phone and nobody answers, and a caller who waits in a queue
and gives up (QueueCallerJoin, the member's phone rings, QueueCallerAbandon, the hang-up)."""

from __future__ import annotations

import asyncio

from cti_daemon.ami.simulator import flows
from cti_daemon.ami.simulator.pbx import SimChannel, SimPbx
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound


async def missed_at_employee(pbx: SimPbx, call: InboundCall) -> CallHandle:
    """The caller dials an employee's extension straight (201 by default) and hangs up unanswered."""
    extension = call.extension if call.extension != "100" else "201"
    missed = InboundCall(call.number, call.name, extension=extension, answer=False, ring_s=call.ring_s)
    return await place_inbound(pbx, missed)


async def queue_abandon(
    pbx: SimPbx,
    call: InboundCall,
    *,
    queue: str = "service",
    member: str = "201",
    started: asyncio.Future[CallHandle] | None = None,
) -> CallHandle:
    """The caller enters queue `queue`; its member's phone rings `call.ring_s`; the caller gives up."""
    trunk = flows.inbound(pbx, call.number, call.name, call.did)
    handle = CallHandle(trunk.linkedid, trunk)
    trunk.application, trunk.app_data = "Queue", queue
    pbx.newexten(trunk, trunk.application, trunk.app_data)
    loop = asyncio.get_running_loop()
    joined = loop.time()
    pbx.emit(
        "QueueCallerJoin", "agent,all", [*_caller(trunk), ("Queue", queue), ("Position", "1"), ("Count", "1")]
    )

    def ringing(dest: SimChannel) -> None:
        handle.dest = dest
        handle.ringing_at = loop.time()
        if started is not None and not started.done():
            started.set_result(handle)

    async def give_up() -> None:
        await pbx.sleep(call.ring_s)
        held = max(0, round(loop.time() - joined))
        pbx.emit(
            "QueueCallerAbandon",
            "agent,all",
            [
                *_caller(trunk),
                ("Queue", queue),
                ("Position", "1"),
                ("OriginalPosition", "1"),
                ("HoldTime", str(held)),
            ],
        )
        flows.hangup(pbx, trunk, 127)

    pbx.spawn(give_up())
    await flows.dial(pbx, trunk, member, ring_s=call.ring_s * 10, answer=False, on_ringing=ringing)
    if started is not None and not started.done():
        started.set_result(handle)
    await trunk.gone.wait()
    return handle


def _caller(chan: SimChannel) -> list[tuple[str, str]]:
    return [
        ("Channel", chan.name),
        ("CallerIDNum", chan.caller_num),
        ("CallerIDName", chan.caller_name or "<unknown>"),
        ("Uniqueid", chan.uniqueid),
        ("Linkedid", chan.linkedid),
    ]
