"""`cti-daemon simulate-pbx`: the simulator alone, placing calls by a named scenario."""

from __future__ import annotations

import asyncio
import itertools
import signal

from cti_daemon import logs
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer

log = logs.get("cti.simulator")

SCENARIOS = {
    "idle": "phones registered, no calls: answers Login, Ping, Events, Filter",
    "inbound": "inbound calls to reception (100), answered after 2 s, caller hangs up 5 s later",
    "inbound-abandoned": "inbound calls to reception that nobody answers; the caller hangs up after 6 s",
    "reception-unavailable": "reception's phone unregistered: calls fail with cause 3 (no route)",
}

_NUMBERS = ["+79161234567", "89161112233", "+79035556677", "anonymous", "84957654321"]


async def serve(
    host: str, port: int, *, scenario: str, username: str, secret: str, calls_per_minute: float
) -> None:
    pbx = SimPbx()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AmiServer(pbx, host=host, port=port, username=username, secret=secret) as server:
        log.info("simulator.listening", host=host, port=server.port, scenario=scenario)
        if scenario == "reception-unavailable":
            pbx.endpoints["100"].registered = False
        tasks: set[asyncio.Task[object]] = set()
        numbers = itertools.cycle(_NUMBERS)
        while not stop.is_set():
            if scenario != "idle":
                number = next(numbers)
                call = InboundCall(
                    number=number,
                    name="Anonymous" if number == "anonymous" else "",
                    answer=scenario == "inbound",
                    ring_s=2.0 if scenario == "inbound" else 6.0,
                )
                task: asyncio.Task[object] = asyncio.create_task(place_inbound(pbx, call))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            try:
                await asyncio.wait_for(stop.wait(), 60.0 / max(calls_per_minute, 0.1))
            except TimeoutError:
                continue
        for task in tasks:
            task.cancel()
