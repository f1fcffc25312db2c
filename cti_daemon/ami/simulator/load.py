"""Load mode: N calls per second, each one of the call scenarios picked by weight, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter

from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import SCENARIOS, InboundCall

# Scenarios that change no phone's registration or behaviour, so any number of them can overlap.
MIX: dict[str, int] = {
    "inbound": 6,
    "inbound-abandoned": 2,
    "blind-transfer": 1,
    "redirect": 1,
    "attended-transfer": 1,
    "click-to-dial": 1,
}
NUMBERS = ["+79161234567", "89161112233", "+79035556677", "anonymous", "84957654321", "+74951234567"]


async def run_load(
    pbx: SimPbx,
    calls_per_second: float,
    stop: asyncio.Event,
    *,
    mix: dict[str, int] | None = None,
    rng: random.Random | None = None,
) -> Counter[str]:
    """Start a call every 1/calls_per_second s until `stop`; returns how many of each were placed."""
    if calls_per_second <= 0:
        raise ValueError("calls_per_second must be greater than 0")
    weights = mix or MIX
    unknown = set(weights) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenarios in the mix: {', '.join(sorted(unknown))}")
    pick = rng or random.Random()
    names, counts = list(weights), list(weights.values())
    placed: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    started = loop.time()
    tick = 0
    while not stop.is_set():
        name = pick.choices(names, counts)[0]
        number = NUMBERS[tick % len(NUMBERS)]
        call = InboundCall(number, "Anonymous" if number == "anonymous" else "")
        pbx.spawn(SCENARIOS[name].run(pbx, call))
        placed[name] += 1
        # On a fixed grid, so a slow turn of the loop does not lower the rate; ticks a slow machine already
        # missed are skipped rather than placed in a burst, and the loop always yields: with a zero timeout
        # wait_for returns at once without running anything else, and the stop signal was never seen.
        tick = max(tick + 1, int((loop.time() - started) * calls_per_second))
        delay = started + tick / calls_per_second - loop.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(delay, 0.001))
    return placed
