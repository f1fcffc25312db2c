"""The simulator's queue members behave like the recordings queue_member_unregister and queue_member_pause
(tests/traces/asterisk-22-batch3): the same queue events with the same headers in the same order, the same
`Queue:` devices, the same QueueStatus and QueuePause answers; the tracker reads the same lines from both;
and the scenario runs from the command line."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
from collections.abc import Iterable

from cti_daemon.ami.call_events import CallEvent, LineChanged
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.frames import AmiMessage, FrameReader
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.simulator.pbx import Headers, SimPbx
from cti_daemon.ami.simulator.scenarios import SCENARIOS, InboundCall
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.config import AmiConfig
from cti_daemon.demo.broker import free_port
from cti_daemon.secret import Secret
from tests.conftest import AMI_SECRET
from tests.support.expectations import compact, compact_queues, expected
from tests.support.traces import trace_messages

RECORDINGS = ("asterisk-22-batch3/queue_member_unregister", "asterisk-22-batch3/queue_member_pause")
QUEUE_EVENTS = ("QueueMemberStatus", "QueueMemberPause")


def _recorded_live() -> list[AmiMessage]:
    return [m for name in RECORDINGS for m in trace_messages(name) if "Event" in m and "ActionID" not in m]


async def _simulated(seed: int = 1) -> list[AmiMessage]:
    pbx = SimPbx(rng=random.Random(seed))
    pbx.speed = 0.01
    out: list[AmiMessage] = []

    def record(event: str, privilege: str, headers: Headers) -> None:
        out.append({"Event": event, "Privilege": privilege, **dict(headers)})

    pbx.listeners.append(record)
    await SCENARIOS["queue_member_offline"].run(pbx, InboundCall("+79161234567"))
    return out


def _queue_news(messages: Iterable[AmiMessage]) -> list[tuple[str, ...]]:
    """What the queue members' events say, in order (the times and counters left out)."""
    out: list[tuple[str, ...]] = []
    for m in messages:
        if m["Event"] in QUEUE_EVENTS:
            out.append(
                (m["Event"], m["Queue"], m["StateInterface"], m["Status"], m["Paused"], m["PausedReason"])
            )
        elif m["Event"] == "DeviceStateChange" and m["Device"].startswith("Queue:"):
            out.append(("DeviceStateChange", m["Device"], m["State"]))
    return out


async def test_given_the_queue_member_scenario_then_its_queue_events_are_the_recordings() -> None:
    simulated, recorded = await _simulated(), _recorded_live()
    assert (
        _queue_news(simulated)
        == _queue_news(recorded)
        == [
            ("QueueMemberStatus", "service", "PJSIP/202", "5", "0", ""),
            ("DeviceStateChange", "Queue:service_avail", "NOT_INUSE"),
            ("QueueMemberStatus", "service", "PJSIP/202", "1", "0", ""),
            ("DeviceStateChange", "Queue:service_pause_PJSIP/202", "INUSE"),
            ("QueueMemberPause", "service", "PJSIP/202", "1", "1", "lunch"),
            ("DeviceStateChange", "Queue:service_pause_PJSIP/202", "NOT_INUSE"),
            ("QueueMemberPause", "service", "PJSIP/202", "1", "0", ""),
        ]
    )
    for event in QUEUE_EVENTS:  # the same headers in the same order
        assert {tuple(m) for m in simulated if m["Event"] == event} == {
            tuple(m) for m in recorded if m["Event"] == event
        }


async def test_given_the_queue_member_scenario_then_the_tracker_reads_what_it_reads_from_the_recordings() -> (
    None
):
    from_sim = CallTracker(LineDirectory())
    sim_events = [e for m in await _simulated(2) for e in from_sim.handle(m)]
    # One session for both: 202 offline then ready (the unregister), and the pause as its own field.
    unregister, pause = (expected(name) for name in RECORDINGS)
    assert compact(sim_events) == ([], unregister["lines"])
    assert compact_queues(sim_events) == pause["queues"]
    assert all(e.status != "talking" for e in sim_events if isinstance(e, LineChanged))


async def _raw_session(port: int, *actions: str) -> list[AmiMessage]:
    """Send the actions after a login; every message up to the last action's answer (or list end)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frames = FrameReader(expect_banner=True)
    writer.write(f"Action: Login\r\nActionID: a-1\r\nUsername: cti\r\nSecret: {AMI_SECRET}\r\n\r\n".encode())
    got: list[AmiMessage] = []
    while not any(m.get("ActionID") == "a-1" for m in got):  # the login is answered before any action
        got.extend(frames.feed(await asyncio.wait_for(reader.read(65536), 5)))
    writer.write("".join(f"{a}ActionID: a-{i}\r\n\r\n" for i, a in enumerate(actions, start=2)).encode())
    last = f"a-{len(actions) + 1}"
    try:
        while not any(
            m.get("ActionID") == last
            and (("Response" in m and "EventList" not in m) or m.get("EventList") == "Complete")
            for m in got
        ):
            got.extend(frames.feed(await asyncio.wait_for(reader.read(65536), 5)))
    finally:
        writer.close()
    return got


async def test_given_queuestatus_and_queuepause_then_the_simulator_answers_as_recorded() -> None:
    pbx = SimPbx()
    async with AmiServer(pbx, secret=AMI_SECRET, write=("call", "originate", "system", "agent")) as server:
        got = await _raw_session(
            server.port,
            "Action: QueueStatus\r\nQueue: service\r\n",
            "Action: QueuePause\r\nQueue: service\r\nInterface: PJSIP/202\r\nPaused: true\r\n"
            "Reason: lunch\r\n",
            "Action: QueuePause\r\nQueue: service\r\nInterface: PJSIP/999\r\nPaused: true\r\n",
        )
    recorded = [m for m in trace_messages(RECORDINGS[1]) if m.get("ActionID", "").endswith(("-2", "-3"))]
    # The QueueStatus list: items and their headers in the recorded order, the ActionID last.
    assert [list(m) for m in got if m.get("ActionID") == "a-2"] == [
        list(m) for m in recorded if m["ActionID"].endswith("-2")
    ]
    assert [m.get("Name") for m in got if m.get("Event") == "QueueMember"] == ["PJSIP/201", "PJSIP/202"]
    answers = [(m["Response"], m.get("Message")) for m in got if "Response" in m and m["ActionID"] != "a-1"]
    assert answers[1:] == [("Success", "Interface paused successfully"), ("Error", "Interface not found")]
    assert pbx.queues.member("service", "PJSIP/202") is not None
    assert [(m.queue, m.paused, m.reason) for m in pbx.queues.of("202")] == [("service", True, "lunch")]


async def test_given_an_ami_user_without_agent_write_then_queuepause_is_permission_denied() -> None:
    async with AmiServer(SimPbx(), secret=AMI_SECRET) as server:
        got = await _raw_session(
            server.port, "Action: QueuePause\r\nInterface: PJSIP/202\r\nPaused: true\r\n"
        )
    assert [m.get("Message") for m in got if m.get("ActionID") == "a-2"] == ["Permission denied"]


async def test_given_simulate_pbx_queue_member_offline_then_a_client_sees_202_offline_then_paused() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        "simulate-pbx",
        "--listen",
        f"127.0.0.1:{port}",
        "--scenario",
        "queue_member_offline",
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
                if any(e.queues and e.queues[0].paused for e in events if isinstance(e, LineChanged)):
                    break
                await asyncio.sleep(0.05)
        lines = [(e.extension, str(e.status)) for e in events if isinstance(e, LineChanged)]
        assert ("202", "offline") in lines
        assert compact_queues(events)["202"][0] == "service:paused(lunch)"
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
