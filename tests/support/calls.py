"""Calls placed on the simulated PBX for tests that act on them (transfers, click to dial), and what the
simulator itself says about who talks with whom (its truth, beside what the daemon believes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cti_daemon.ami.simulator.pbx import SimChannel, SimPbx
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.ami.tracker import CallTracker

CALLER = ("+79161234567", "Ivan Petrov")


async def until(check: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"{what}: not met in {timeout} s"
        await asyncio.sleep(0.01)


async def until_async(
    check: Callable[[], Awaitable[bool]], timeout: float = 5.0, what: str = "condition"
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, f"{what}: not met in {timeout} s"
        await asyncio.sleep(0.02)


@dataclass
class LiveCall:
    call_id: str
    handle: CallHandle
    task: asyncio.Task[CallHandle]

    @property
    def caller(self) -> SimChannel:
        return self.handle.caller


async def answered_at(
    pbx: SimPbx, tracker: CallTracker, extension: str = "100", number: str = CALLER[0], name: str = CALLER[1]
) -> LiveCall:
    """An inbound call that rings `extension`, is answered there, and stays until something ends it; back
    once the daemon's tracker sees it talking."""
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    call = InboundCall(number, name, extension=extension, ring_s=0.05, talk_s=None)
    task = asyncio.create_task(place_inbound(pbx, call, started=started))
    handle = await asyncio.wait_for(started, 5)
    await until(
        lambda: (view := tracker.call_view(handle.call_id)) is not None and extension in view.talking,
        what=f"call answered at {extension}",
    )
    return LiveCall(handle.call_id, handle, task)


def bridged_with(pbx: SimPbx, chan: SimChannel) -> list[str]:
    """The devices the simulator has in the same bridge as `chan`, a Local pair followed to its far end
    (an attended transfer leaves the caller bridged with Local;1 and the target with Local;2)."""
    out: list[str] = []
    bridge = pbx.bridges.get(chan.bridge or "")
    for uid in bridge.channels if bridge else []:
        other = pbx.channels.get(uid)
        if other is None or other is chan:
            continue
        if other.partner is not None and other.partner.uniqueid in pbx.channels:
            out.extend(bridged_with(pbx, other.partner))
        else:
            out.append(other.device)
    return sorted(out)


def ringing_devices(pbx: SimPbx, call_id: str) -> list[str]:
    return sorted(c.device for c in pbx.channels.values() if c.linkedid == call_id and c.state == 5)
