"""`cti-daemon agent` as a user runs it, against `cti-daemon demo` (both real subprocesses, a real
mosquitto): it shows the demo's pops as cards, says online/offline on its own retained topic (the will
when it is killed), and asks for its presence."""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import sys
import time
from collections.abc import AsyncIterator

import pytest

from cti_daemon.agent.client import AgentClient, AgentOptions
from cti_daemon.demo.broker import LocalBroker
from tests.support.mqtt import Subscriber
from tests.support.ports import free_port_run


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _read_until(proc: asyncio.subprocess.Process, wanted: str, seen: list[str], timeout: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while not any(wanted in line for line in seen):
        left = deadline - time.monotonic()
        assert left > 0, f"{wanted!r} not printed in {timeout} s; got {seen[-10:]}"
        line = await asyncio.wait_for(proc.stdout.readline(), left)
        assert line, f"the process ended before printing {wanted!r}; got {seen[-10:]}"
        seen.append(line.decode())


@pytest.fixture
async def demo() -> AsyncIterator[str]:
    base = free_port_run(3)
    proc = await _spawn("demo", "--port-base", str(base), "--calls-per-minute", "60", "--duration", "30")
    try:
        await _read_until(proc, "cti-daemon demo:", [], 20)
        yield f"mqtt://127.0.0.1:{base + 1}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 20)


async def test_given_the_demo_running_then_the_agent_prints_pops_as_cards_and_says_it_is_online(
    demo: str,
) -> None:
    async with Subscriber(demo, "cti/agents/e-100/client", "cti/presence/e-100/set") as watcher:
        agent = await _spawn(
            "agent", "--employee", "e-100", "--mqtt", demo, "--status", "busy", "--note", "lunch"
        )
        seen: list[str] = []
        try:
            await _read_until(agent, "agent e-100: online", seen, 30)
            await _read_until(agent, "RINGING at 100 (e-100)", seen, 20)
            await _read_until(agent, "└─", seen, 5)
            await _read_until(agent, "  line 100 (e-100): ringing", seen, 5)
            assert (await watcher.wait_on("cti/agents/e-100/client", 30)).payload == "online"
            request = await watcher.wait_on("cti/presence/e-100/set")
            assert request.payload == {"status": "busy", "note": "lunch"}
            agent.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(agent.communicate(), 10)
        finally:
            with contextlib.suppress(ProcessLookupError):
                agent.kill()
        assert agent.returncode == 0, err.decode()
        assert "Traceback" not in err.decode()
        card = "".join(seen[next(i for i, s in enumerate(seen) if "RINGING at 100" in s) :])
        assert "│ " in card, card
        states = [m.payload for m in watcher.on("cti/agents/e-100/client")]
        for _ in range(50):
            if states[-1] == "offline":
                break
            await asyncio.sleep(0.05)
            states = [m.payload for m in watcher.on("cti/agents/e-100/client")]
        assert states == ["online", "offline"]


async def test_given_the_agent_is_killed_then_its_will_says_offline(demo: str) -> None:
    agent = await _spawn("agent", "--employee", "e-201", "--mqtt", demo)
    await _read_until(agent, "agent e-201: online", [], 30)
    async with Subscriber(demo, "cti/agents/e-201/client") as watcher:
        assert (await watcher.wait_on("cti/agents/e-201/client", 30)).payload == "online"
        agent.kill()
        await agent.wait()
        for _ in range(300):  # the broker sees the socket close at once; a loaded machine runs it late
            if watcher.on("cti/agents/e-201/client")[-1].payload == "offline":
                break
            await asyncio.sleep(0.05)
        assert [m.payload for m in watcher.on("cti/agents/e-201/client")] == ["online", "offline"]


async def test_given_bad_arguments_then_exit_2_with_the_reason() -> None:
    for args, reason in [
        (["--employee", "e/1"], "--employee"),
        (["--employee", "e-1", "--mqtt", "http://x"], "--mqtt"),
        (["--employee", "e-1", "--note", "x"], "--note goes with --status"),
    ]:
        proc = await _spawn("agent", *args)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 2 and reason in err.decode(), err.decode()


async def test_given_a_pop_delivered_twice_and_garbage_then_the_agent_shows_it_once_and_carries_on() -> None:
    pop = {
        "v": 1, "type": "popup", "call_id": "17.1", "at": "2026-11-23T09:00:00.000Z", "extension": "201",
        "employee_id": "e-201", "caller": {"number": None, "raw": "anonymous", "name": None},
        "identified": False, "reason": "number withheld", "customer": None,
    }  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    stop = asyncio.Event()
    async with LocalBroker() as broker:
        client = AgentClient(AgentOptions("e-201", url=broker.url), out, err)
        running = asyncio.create_task(client.run(stop))
        async with Subscriber(broker.url, "cti/agents/e-201/client") as daemon:
            await daemon.wait_on("cti/agents/e-201/client")
            await asyncio.sleep(0.1)
            await daemon.publish("cti/agents/e-201/popup", b"\xff not json")
            await daemon.publish("cti/agents/e-201/popup", pop)
            await daemon.publish("cti/agents/e-201/popup", pop)
            await daemon.publish("cti/agents/e-201/notify", {"kind": "transfer", "text": "from 100"})
            for _ in range(100):
                if "! transfer" in out.getvalue():
                    break
                await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(running, 5)
    shown = out.getvalue()
    assert shown.count("RINGING at 201") == 1 and "Unknown caller: anonymous" in shown
    assert "  ! transfer: from 100" in shown and shown.rstrip().endswith("agent e-201: offline")
    assert "unreadable message on cti/agents/e-201/popup" in err.getvalue()
