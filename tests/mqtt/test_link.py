"""The MQTT adapter against a real broker: the outbox across outages, retained state, the will."""

from __future__ import annotations

import asyncio

from cti_daemon.config import MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.link import MqttLink
from tests.support.gate import TcpGate
from tests.support.mqtt import Subscriber


def _link(broker: LocalBroker | TcpGate, **kw: object) -> MqttLink:
    cfg = MqttConfig(url=broker.url, node_id="t", reconnect_max_delay_s=0.3, **kw)  # type: ignore[arg-type]
    return MqttLink(cfg, status_topic="cti/daemon/t/status", offline_payload={"state": "offline"})


async def test_given_broker_down_at_start_when_it_comes_up_then_queued_messages_arrive_in_order() -> None:
    # The daemon reaches the broker through a closed gate: "down" for it, while the agent subscribes.
    async with LocalBroker() as broker, TcpGate(broker.port, start_open=False) as gate, _link(gate) as link:
        link.publish("cti/agents/e-1/popup", {"n": 1})
        link.publish("cti/agents/e-1/popup", {"n": 2}, still_relevant=lambda: False)
        link.publish("cti/agents/e-1/popup", {"n": 3})
        await asyncio.sleep(0.5)
        assert not link.connected and link.outbox_depth == 3
        async with Subscriber(broker.url, "cti/#") as sub:
            await gate.open()
            await link.drain(10)
            await sub.wait_for("cti/agents/e-1/popup", n=3)
            assert [m.payload["n"] for m in sub.on("cti/agents/e-1/popup")] == [1, 3]
            assert link.stats.dropped_stale == 1


async def test_given_retained_state_when_the_broker_restarts_then_it_is_published_again() -> None:
    async with LocalBroker() as broker, _link(broker) as link:
        link.retain("cti/lines/100", {"status": "ready"})
        link.retain("cti/lines/100", {"status": "talking"})
        await link.wait_connected(5)
        await link.drain()
        await broker.stop()
        await asyncio.sleep(0.3)
        await broker.start()  # mosquitto without persistence: the broker forgot every retained message
        await link.wait_connected(10)
        await link.drain()
        async with Subscriber(broker.url, "cti/lines/#") as sub:
            line = await sub.wait_for("cti/lines/100")
            assert line.retain and line.payload == {"status": "talking"}


async def test_given_a_full_outbox_then_the_oldest_is_dropped_and_counted() -> None:
    broker = LocalBroker()
    async with _link(broker, outbox_limit=2) as link:
        for n in range(5):
            link.publish("cti/x", {"n": n})
        assert link.outbox_depth == 2 and link.stats.dropped_overflow == 3


async def test_given_many_messages_at_once_then_they_arrive_in_order_with_several_in_flight() -> None:
    async with LocalBroker() as broker, _link(broker) as link, Subscriber(broker.url, "cti/#") as sub:
        await link.wait_connected(5)
        for n in range(500):
            link.publish(f"cti/agents/e-{n % 3}/popup", {"n": n})
        assert link.outbox_depth == 500
        await link.drain(10)
        await sub.wait_for("cti/agents/e-2/popup", n=497)
        await sub.wait_for("cti/agents/e-1/popup", n=499)
        assert [m.payload["n"] for m in sub.messages] == list(range(500))
        assert link.stats.published == 500 and link.outbox_depth == 0
