"""The simulator stopped mid-call and started again in a different state: within a second of the daemon
logging in again, its calls and lines are the PBX's truth, and the corrections reach the agents."""

from __future__ import annotations

import asyncio

from cti_daemon.ami.simulator import flows, lists, phones
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.app import Daemon
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.mqtt import Received, Subscriber


async def _ringing(sim: Sim, call: InboundCall) -> CallHandle:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    sim.pbx.spawn(place_inbound(sim.pbx, call, started=started))
    return await asyncio.wait_for(started, 5)


async def _published_after(agents: Subscriber, start: int, topic: str, **match: object) -> Received:
    """The first message on `topic` matching `match` among those that arrived after `start`."""
    for _ in range(500):
        for m in agents.messages[start:]:
            if (
                m.topic == topic
                and isinstance(m.payload, dict)
                and all(m.payload.get(k) == v for k, v in match.items())
            ):
                return m
        await asyncio.sleep(0.01)
    raise AssertionError(f"nothing on {topic} matching {match}")


def _daemon_view(daemon: Daemon) -> tuple[list[tuple[str, tuple[str, ...], tuple[str, ...]]], dict[str, str]]:
    calls = sorted((v.call_id, v.ringing, v.talking) for v in daemon.tracker.call_views())
    lines = {v.extension: str(v.status) for v in daemon.tracker.line_views()}
    return calls, lines


def _truth(sim: Sim) -> tuple[list[tuple[str, tuple[str, ...], tuple[str, ...]]], dict[str, str]]:
    calls, lines = lists.truth(sim.pbx)
    return [(c.call_id, c.ringing, c.talking) for c in calls], lines


async def test_given_the_pbx_restarted_in_another_state_then_within_1s_calls_and_lines_are_its_truth(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, seed = seeded_sqlite
    sim.pbx.speed = 0.02
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Subscriber(broker.url, "cti/#") as agents, Daemon(config) as daemon:
        await daemon.wait_ready()
        talking = await _ringing(sim, InboundCall(seed.known_numbers[0], ring_s=0.1, talk_s=None))
        ringing = await _ringing(
            sim, InboundCall(seed.known_numbers[1], extension="202", answer=False, ring_s=500)
        )
        await agents.wait_for("cti/lines/100", status="talking")
        await agents.wait_for("cti/lines/202", status="ringing")
        assert _daemon_view(daemon) == _truth(sim)

        await sim.server.stop()  # the PBX goes away mid-call
        while daemon.ami.connected:
            await asyncio.sleep(0.01)
        sim.pbx.quiet = True  # and comes back in another state, nobody told
        flows.hangup(sim.pbx, talking.caller)  # the call at reception ended
        assert ringing.dest is not None
        flows.connect(sim.pbx, ringing.caller, ringing.dest, "202")  # 202 answered meanwhile
        new = await _ringing(
            sim, InboundCall(seed.known_numbers[2], extension="201", ring_s=500, answer=False)
        )
        phones.unregister(sim.pbx, "203")
        sim.pbx.quiet = False
        assert _truth(sim) != _daemon_view(daemon)
        sessions = daemon.ami.sessions
        published = len(agents.messages)
        await sim.server.start()

        loop = asyncio.get_running_loop()
        while daemon.ami.sessions == sessions:
            await asyncio.sleep(0.005)
        reconnected = loop.time()
        while _daemon_view(daemon) != _truth(sim) and loop.time() - reconnected < 1.0:
            await asyncio.sleep(0.005)
        assert _daemon_view(daemon) == _truth(sim), "not the PBX's truth 1 s after reconnecting"

        pop = await _published_after(
            agents, published, "cti/agents/e-201/popup", type="popup", call_id=new.call_id
        )
        assert pop.payload["caller"]["raw"] == seed.known_numbers[2] and pop.payload["identified"] is True
        await _published_after(agents, published, "cti/lines/203", status="offline")
        await _published_after(agents, published, "cti/lines/100", status="ready")
        await _published_after(agents, published, "cti/lines/202", status="talking", call_id=ringing.call_id)
        ended = await _published_after(agents, published, f"cti/calls/{talking.call_id}", event="ended")
        assert ended.payload["cause"] == 0
        sim.pbx.cancel_flows()
