"""The queue member scenario: the recordings queue_member_unregister then queue_member_pause
(tests/traces/asterisk-22-batch3), with their timing. 202, a static member of queue service, un-registers
and registers again; then it is paused in service ("lunch") and unpaused. No calls."""

from __future__ import annotations

from cti_daemon.ami.simulator import phones
from cti_daemon.ami.simulator.pbx import SimPbx


async def queue_member_offline(pbx: SimPbx, member: str = "202", queue: str = "service") -> None:
    await pbx.sleep(1.5)
    phones.unregister(pbx, member)
    await pbx.sleep(3.65)
    phones.register(pbx, member)
    await pbx.sleep(1.5)
    pbx.queues.pause(queue, f"PJSIP/{member}", paused=True, reason="lunch")
    await pbx.sleep(3.0)
    pbx.queues.pause(queue, f"PJSIP/{member}", paused=False)
