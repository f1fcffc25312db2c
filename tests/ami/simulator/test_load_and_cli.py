"""The simulator's load mode, and `cti-daemon simulate-pbx --scenario` from the command line."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
from collections.abc import Callable

import pytest

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallRinging,
    CallTransferred,
    RingStopped,
)
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.simulator.load import MIX, run_load
from cti_daemon.ami.simulator.pbx import Headers, SimPbx
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.config import AmiConfig
from cti_daemon.demo.broker import free_port
from cti_daemon.secret import Secret


async def test_given_load_mode_then_calls_of_every_kind_are_placed_and_tracked_to_their_end() -> None:
    pbx = SimPbx()
    pbx.speed = 0.005
    tracker = CallTracker(LineDirectory())
    events: list[CallEvent] = []

    def track(name: str, _privilege: str, headers: Headers) -> None:
        events.extend(tracker.handle({"Event": name, **dict(headers)}))

    pbx.listeners.append(track)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    placed = await run_load(pbx, 200.0, stop, rng=random.Random(3))
    while pbx.tasks:
        await asyncio.gather(*pbx.tasks)
    assert set(placed) == set(MIX)  # every kind of call, in a 0.5 s run at 200/s
    assert 50 <= sum(placed.values()) <= 101  # the grid's 100 ticks, less what a slow machine skips
    ended = {e.call_id for e in events if isinstance(e, CallEnded)}
    rang = {e.call_id for e in events if isinstance(e, CallRinging)}
    assert rang <= ended and len(ended) >= sum(placed.values())
    assert {e.mode for e in events if isinstance(e, CallTransferred)} == {"blind", "redirect", "attended"}
    assert tracker.calls == {} and pbx.channels == {}


async def test_given_an_unknown_scenario_in_the_mix_then_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nope"):
        await run_load(SimPbx(), 1.0, asyncio.Event(), mix={"nope": 1})


async def test_given_simulate_pbx_with_the_load_scenario_then_a_client_sees_calls() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        "simulate-pbx",
        "--listen",
        f"127.0.0.1:{port}",
        "--scenario",
        "load",
        "--calls-per-second",
        "20",
        "--secret",
        "s3cret-sim",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        tracker = CallTracker(LineDirectory())
        events: list[CallEvent] = []
        cfg = AmiConfig(port=port, secret=Secret("s3cret-sim"), reconnect_max_delay_s=0.5)
        async with AmiLink(cfg, on_event=lambda m: events.extend(tracker.handle(m))) as link:
            await link.wait_connected(10)
            for _ in range(500):
                if any(isinstance(e, CallRinging) for e in events):
                    break
                await asyncio.sleep(0.01)
        assert any(isinstance(e, CallRinging) for e in events)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr and b"s3cret-sim" not in stderr


async def test_given_an_unknown_scenario_on_the_command_line_then_exit_2_naming_the_known_ones() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        "simulate-pbx",
        "--scenario",
        "nope",
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await proc.communicate()
    assert proc.returncode == 2
    assert b"unknown scenario 'nope'" in stderr and b"attended-transfer" in stderr and b"load" in stderr


@pytest.mark.parametrize(
    ("scenario", "shows"),
    [
        ("pickup", lambda e: isinstance(e, CallAnswered) and e.extension == "201"),
        ("caller_side_transfer", lambda e: isinstance(e, CallTransferred) and e.from_extension == "201"),
        ("attended_cancel", lambda e: isinstance(e, RingStopped) and e.reason == "transfer_cancelled"),
    ],
)
async def test_given_simulate_pbx_with_a_batch3_scenario_then_a_client_sees_what_it_is_about(
    scenario: str, shows: Callable[[CallEvent], bool]
) -> None:
    """Real time: the recordings' own delays (a pickup 3.4 s in, a cancel about 8 s in)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        "simulate-pbx",
        "--listen",
        f"127.0.0.1:{port}",
        "--scenario",
        scenario,
        "--secret",
        "s3cret-sim",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        tracker = CallTracker(LineDirectory())
        events: list[CallEvent] = []
        cfg = AmiConfig(port=port, secret=Secret("s3cret-sim"), reconnect_max_delay_s=0.5)
        async with AmiLink(cfg, on_event=lambda m: events.extend(tracker.handle(m))) as link:
            await link.wait_connected(10)
            for _ in range(300):
                if any(shows(e) for e in events):
                    break
                await asyncio.sleep(0.1)
        assert any(shows(e) for e in events), events
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
