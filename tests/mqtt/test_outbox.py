"""Overload: when the outbox is full, call events go first, then line states, and pops last."""

from __future__ import annotations

import asyncio

from cti_daemon.config import MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.mqtt.outbox import Outbox, Outgoing, Shed
from tests.support.gate import TcpGate
from tests.support.mqtt import Subscriber


def _item(name: str, shed: Shed | None = None) -> Outgoing:
    return Outgoing(name, b"{}", retain=shed == "line", still_relevant=None, shed=shed)


def test_given_a_full_outbox_then_call_events_go_first_then_lines_then_the_oldest_pop() -> None:
    box = Outbox(limit=5)
    for item in [
        _item("pop1"),
        _item("event1", "call_event"),
        _item("line1", "line"),
        _item("pop2"),
        _item("event2", "call_event"),
    ]:
        assert box.append(item) is None
    given_up = [box.append(_item(f"pop{n}")) for n in range(3, 7)]
    assert [g.topic for g in given_up if g is not None] == ["event1", "event2", "line1", "pop1"]
    assert len(box) == 5
    assert [box.popleft().topic for _ in range(5)] == ["pop2", "pop3", "pop4", "pop5", "pop6"]
    assert not box


def test_given_endless_shedding_then_the_queue_stays_bounded() -> None:
    box = Outbox(limit=100)
    for n in range(100_000):
        box.append(_item(f"e{n}", "call_event"))
    assert len(box) == 100 and len(box._queue) <= 2 * 100 + 64
    assert box.popleft().topic == "e99900"


async def test_given_the_broker_away_and_the_outbox_overflowing_then_every_pop_arrives_and_sheds_are_counted(
    broker: LocalBroker,
) -> None:
    async with TcpGate(broker.port, start_open=False) as gate:
        cfg = MqttConfig(url=gate.url, node_id="t", reconnect_max_delay_s=0.3, outbox_limit=20)
        link = MqttLink(cfg, status_topic="cti/daemon/t/status", offline_payload={"state": "offline"})
        async with link, Subscriber(broker.url, "cti/#") as sub:
            for n in range(15):
                link.publish("cti/agents/e-201/popup", {"n": n})
                for k in range(4):
                    link.publish(f"cti/calls/c{n}", {"event": "ringing", "k": k}, shed="call_event")
                    link.retain("cti/lines/201", {"status": "ringing", "n": n, "k": k}, shed="line")
            await asyncio.sleep(0.3)
            assert link.outbox_depth == 20
            await gate.open()
            await link.wait_connected(10)
            await link.drain(10)
            await sub.wait_for("cti/agents/e-201/popup", n=14)
            assert [m.payload["n"] for m in sub.on("cti/agents/e-201/popup")] == list(range(15))
            await sub.wait_for("cti/lines/201", n=14, k=3)  # the line's last state still arrives
            assert link.stats.dropped_overflow == 0
            assert link.stats.shed_call_event > 0 and link.stats.shed_line > 0
