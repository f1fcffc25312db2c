"""`cti-daemon simulate-pbx`: the simulator alone, running a named scenario over and over, or a load."""

from __future__ import annotations

import asyncio
import itertools
import signal

from cti_daemon import logs
from cti_daemon.ami.simulator.load import NUMBERS, run_load
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import SCENARIOS as CALL_SCENARIOS
from cti_daemon.ami.simulator.scenarios import InboundCall
from cti_daemon.ami.simulator.server import AmiServer

log = logs.get("cti.simulator")

SCENARIOS = {
    "idle": "phones registered, no calls; answers the lists and the call actions",
    **{name: scenario.about for name, scenario in CALL_SCENARIOS.items()},
    "load": "N calls per second (--calls-per-second): inbound, abandoned, transferred, click to dial",
}


async def serve(
    host: str,
    port: int,
    *,
    scenario: str,
    username: str,
    secret: str,
    calls_per_minute: float,
    calls_per_second: float = 1.0,
) -> None:
    pbx = SimPbx()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AmiServer(pbx, host=host, port=port, username=username, secret=secret) as server:
        log.info("simulator.listening", host=host, port=server.port, scenario=scenario)
        if scenario == "load":
            placed = await run_load(pbx, calls_per_second, stop)
            log.info("simulator.load_done", **placed)
        elif scenario == "idle":
            await stop.wait()
        else:
            await _repeat(pbx, scenario, calls_per_minute, stop)
        pbx.cancel_flows()


async def _repeat(pbx: SimPbx, scenario: str, calls_per_minute: float, stop: asyncio.Event) -> None:
    numbers = itertools.cycle(NUMBERS)
    while not stop.is_set():
        number = next(numbers)
        call = InboundCall(number, "Anonymous" if number == "anonymous" else "")
        pbx.spawn(CALL_SCENARIOS[scenario].run(pbx, call))
        try:
            await asyncio.wait_for(stop.wait(), 60.0 / max(calls_per_minute, 0.1))
        except TimeoutError:
            continue
