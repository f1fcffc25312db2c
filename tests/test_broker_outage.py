"""The broker dies while calls ring and comes back: a pop for a call that still rings arrives after the
restart, once; one for a call that ended meanwhile is dropped (with its dismissal) and logged; the
retained daemon status, every line and every presence are back although the broker forgot them.

The daemon reaches the broker through a TcpGate, so the test decides when the daemon gets back: after
the agent has subscribed again, as a real agent client with a persistent session would be.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.app import Daemon
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.timefmt import utcnow
from tests.conftest import Sim, daemon_config
from tests.support.gate import TcpGate
from tests.support.mqtt import Subscriber


async def _ring(sim: Sim, call: InboundCall) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


def _pops(sub: Subscriber, call_id: str, kind: str = "popup") -> list[object]:
    return [
        m
        for m in sub.on("cti/agents/e-100/popup")
        if m.payload.get("call_id") == call_id and m.payload.get("type") == kind
    ]


async def test_given_the_broker_killed_while_calls_ring_when_it_restarts_then_each_live_ring_pops_once(
    sim: Sim, seeded_sqlite: tuple[str, SeedSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    db_url, seed = seeded_sqlite
    async with LocalBroker() as broker, TcpGate(broker.port) as gate:
        config = daemon_config(ami_port=sim.port, mqtt_url=gate.url, db_url=db_url)
        async with Daemon(config) as daemon:
            await daemon.wait_ready()
            daemon.outbound.presence(
                employee_id="e-201", status="busy", note="with a customer", client="online", since=utcnow()
            )
            async with Subscriber(broker.url, "cti/#") as before:
                first, c0 = await _ring(sim, InboundCall(seed.known_numbers[0], ring_s=30, talk_s=1))
                await before.wait_for("cti/agents/e-100/popup", call_id=c0.call_id)
                await before.wait_for("cti/presence/e-201", status="busy")
                await daemon.mqtt.drain()

            await broker.stop()  # SIGKILL: no goodbye, no persistence; the daemon's will fires nowhere
            await gate.close()
            await asyncio.sleep(0.2)
            assert not daemon.mqtt.connected
            first.cancel()  # C0 keeps ringing in the PBX; only the simulator's script stops

            # While the broker is away: C1 rings and keeps ringing, C2 rings and the caller hangs up.
            live, c1 = await _ring(sim, InboundCall(seed.known_numbers[1], ring_s=30, talk_s=1))
            gone, c2 = await _ring(sim, InboundCall(seed.known_numbers[2], answer=False, ring_s=0.1))
            await gone
            await daemon.pops.idle()
            assert daemon.mqtt.outbox_depth >= 2

            await broker.start()
            async with Subscriber(broker.url, "cti/#") as agent:
                assert not agent.messages, "a restarted broker without persistence remembers nothing"
                await gate.open()
                await daemon.mqtt.wait_connected(10)
                pop = await agent.wait_for("cti/agents/e-100/popup", call_id=c1.call_id, type="popup")
                assert pop.payload["identified"] is True and pop.payload["customer"]["id"] == "c-00002"
                await daemon.mqtt.drain(10)
                await asyncio.sleep(0.3)  # anything sent twice would arrive by now

                assert len(_pops(agent, c1.call_id)) == 1
                assert _pops(agent, c2.call_id) == [] and _pops(agent, c2.call_id, "dismiss") == []
                assert _pops(agent, c0.call_id) == [], "a pop delivered before the outage came again"
                status = agent.on("cti/daemon/test/status")
                assert len(status) == 1, "the daemon's status is published once after the reconnect"
                assert status[0].payload["state"] == "online" and status[0].payload["ami"] == "connected"
                line = agent.on("cti/lines/100")
                assert line and line[-1].payload["status"] == "ringing"
                presence = agent.on("cti/presence/e-201")
                assert len(presence) == 1 and presence[0].payload["note"] == "with a customer"
            live.cancel()

            # A client connecting now gets the retained state from the broker itself.
            async with Subscriber(broker.url, "cti/daemon/#", "cti/lines/#", "cti/presence/#") as late:
                await late.wait_for("cti/daemon/test/status", state="online")
                await late.wait_for("cti/lines/100")
                await late.wait_for("cti/presence/e-201", status="busy")
                assert all(m.retain for m in late.messages)

    stats = daemon.mqtt.stats
    assert stats.dropped_stale == 2 and stats.dropped_overflow == 0  # C2's pop and its dismissal
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    dropped = [e for e in events if e["event"] == "mqtt.dropped_stale"]
    assert [(e["call_id"], e["type"]) for e in dropped] == [(c2.call_id, "popup"), (c2.call_id, "dismiss")]
