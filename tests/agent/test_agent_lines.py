"""The agent shows its own line and the lines of the calls it is in, not every colleague's change;
`--lines all` shows everything. Against a real broker, the agent client as it runs."""

from __future__ import annotations

import asyncio
import io

from cti_daemon.agent.client import AgentClient, AgentOptions
from cti_daemon.demo.broker import LocalBroker
from tests.support.mqtt import Subscriber

POP = {
    "v": 1, "type": "popup", "call_id": "7.1", "at": "2026-11-23T09:00:00.000Z", "extension": "201",
    "employee_id": "e-201", "caller": {"number": None, "raw": "anonymous", "name": None},
    "identified": False, "reason": "number withheld", "customer": None,
}  # fmt: skip

LINES: list[dict[str, str | None] | tuple[str, dict[str, object]]] = [
    {"extension": "100", "employee_id": "e-100", "status": "ringing", "call_id": "7.1"},  # before the pop
    ("pop", POP),
    {"extension": "202", "employee_id": "e-202", "status": "ringing", "call_id": "9.9"},
    {"extension": "201", "employee_id": "e-201", "status": "talking", "call_id": "7.1"},
    {"extension": "100", "employee_id": "e-100", "status": "talking", "call_id": "7.1"},
    {"extension": "203", "employee_id": "e-203", "status": "talking", "call_id": "9.9"},
    {"extension": "202", "employee_id": "e-202", "status": "ready", "call_id": None},
    {"extension": "100", "employee_id": "e-100", "status": "ready", "call_id": None},
    {"extension": "201", "employee_id": "e-201", "status": "ready", "call_id": None},
    {"extension": "203", "employee_id": "e-203", "status": "ready", "call_id": None},
]


async def _shown(lines: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    stop = asyncio.Event()
    async with LocalBroker() as broker:
        client = AgentClient(AgentOptions("e-201", url=broker.url, lines=lines), out, err)
        running = asyncio.create_task(client.run(stop))
        async with Subscriber(broker.url, "cti/agents/e-201/client") as daemon:
            await daemon.wait_on("cti/agents/e-201/client")
            await asyncio.sleep(0.1)
            for item in LINES:
                if isinstance(item, tuple):
                    await daemon.publish("cti/agents/e-201/popup", item[1])
                    await asyncio.sleep(0.1)  # the pop is read before the lines that follow it
                else:
                    await daemon.publish(f"cti/lines/{item['extension']}", item)
            await daemon.publish("cti/agents/e-201/notify", {"kind": "transfer", "text": "end"})
            for _ in range(200):
                if "! transfer: end" in out.getvalue():
                    break
                await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(running, 5)
    assert err.getvalue() == ""
    return out.getvalue()


async def test_given_colleagues_lines_change_then_the_agent_shows_only_its_line_and_its_calls() -> None:
    shown = [line for line in (await _shown("mine")).splitlines() if line.startswith("  line ")]
    assert shown == [
        "  line 201 (e-201): talking  call 7.1",
        "  line 100 (e-100): talking  call 7.1",
        "  line 100 (e-100): ready",
        "  line 201 (e-201): ready",
    ]


async def test_given_lines_all_then_every_line_change_is_shown() -> None:
    shown = [line for line in (await _shown("all")).splitlines() if line.startswith("  line ")]
    assert len(shown) == 9 and "  line 202 (e-202): ringing  call 9.9" in shown
