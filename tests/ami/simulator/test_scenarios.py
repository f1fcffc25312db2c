"""Each simulator scenario behaves like the Asterisk recording it imitates: the same channels with the same
events in the same order (ids and noise left out), the same transfer events, the same device and hint
states; and the tracker reads the same calls, transfers and lines from it as from the recording."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.simulator.pbx import Headers, SimPbx
from cti_daemon.ami.simulator.scenarios import SCENARIOS, InboundCall
from cti_daemon.ami.tracker import CallTracker
from tests.support.expectations import compact, directory_for, expected
from tests.support.structure import structure
from tests.support.traces import trace_messages

RECORDED = sorted(name for name, s in SCENARIOS.items() if s.recording is not None)


def _recording(name: str) -> str:
    recording = SCENARIOS[name].recording
    assert recording is not None
    return recording if "/" in recording else f"asterisk-22/{recording}"


async def _run(name: str, seed: int) -> list[AmiMessage]:
    pbx = SimPbx(rng=random.Random(seed))
    pbx.speed = 0.01
    out: list[AmiMessage] = []

    def record(event: str, privilege: str, headers: Headers) -> None:
        out.append({"Event": event, "Privilege": privilege, **dict(headers)})

    pbx.listeners.append(record)
    await SCENARIOS[name].run(pbx, InboundCall("+79161234567", "Ivan Petrov"))
    while pbx.tasks:
        await asyncio.gather(*pbx.tasks)
    return out


def _ids_renamed(events: list[dict[str, Any]], lines: dict[str, list[str]]) -> tuple[Any, Any]:
    """Call ids replaced by their rank of appearance: the simulator's ids are not Asterisk's."""
    rank: dict[str, str] = {}

    def name(call_id: str) -> str:
        return rank.setdefault(call_id, f"call-{len(rank) + 1}")

    renamed = [{k: (name(v) if k in ("call", "ended") else v) for k, v in e.items()} for e in events]
    renamed_lines = {
        ext: [f"{s.split('@')[0]}@{name(s.split('@')[1])}" if "@" in s else s for s in seq]
        for ext, seq in lines.items()
    }
    return renamed, renamed_lines


@pytest.mark.parametrize("name", RECORDED)
@pytest.mark.parametrize("seed", [1, 2])
async def test_given_a_scenario_then_its_events_have_the_structure_of_its_recording(
    name: str, seed: int
) -> None:
    recording = _recording(name)
    simulated = structure(await _run(name, seed))
    recorded = structure(m for m in trace_messages(recording) if "Event" in m)
    assert simulated.created == recorded.created
    assert simulated.channels == recorded.channels
    assert simulated.milestones == recorded.milestones
    assert simulated.states == recorded.states


@pytest.mark.parametrize("name", RECORDED)
@pytest.mark.parametrize("seed", [3, 4])
async def test_given_a_scenario_then_the_tracker_reads_what_it_reads_from_the_recording(
    name: str, seed: int
) -> None:
    """Device and hint events come in either order (a coin toss per change, as in Asterisk): the calls,
    transfers and lines read from them must not depend on it."""
    recording = _recording(name)
    spec = expected(recording)
    tracker = CallTracker(directory_for(spec))
    events = [e for m in await _run(name, seed) for e in tracker.handle(m)]
    assert _ids_renamed(*compact(events)) == _ids_renamed(spec["events"], spec["lines"])
    assert tracker.calls == {}


async def test_given_staff_busy_then_the_second_caller_is_transferred_and_hung_up_with_user_busy() -> None:
    tracker = CallTracker(directory_for({}))
    events = [e for m in await _run("staff-busy", 5) for e in tracker.handle(m)]
    calls, _ = compact(events)
    ended = [e for e in calls if "ended" in e]
    transferred = [e for e in calls if "transferred" in e]
    assert [(t["transferred"], t["from"], t["to"]) for t in transferred] == [("blind", "100", "201")] * 2
    assert sorted(e["cause"] for e in ended) == [16, 17]
    second = next(e["ended"] for e in ended if e["cause"] == 17)
    assert not [e for e in calls if e.get("ringing") == "201" and e["call"] == second]
