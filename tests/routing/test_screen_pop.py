"""The ring path's order of work: a caller known without waiting pops before submit returns; one that needs
an awaited store read pops from the call's task, and the call's later events still wait for it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from cti_daemon.ami.call_events import CallEnded, CallRinging, LineChanged, LineStatus, Party, QueueMembership
from cti_daemon.ami.directory import LineDirectory, LineOwner
from cti_daemon.config import MqttConfig
from cti_daemon.crm.identify import Identification
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.mqtt.outbound import AgentOutbound
from cti_daemon.outbound.topics import Topics
from cti_daemon.routing.screen_pop import ScreenPopService

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULES = NumberRules("RU")
RING = CallRinging("1.1", "100", Party("89161234567", "Ivanov"), "PJSIP/100-00000001")


def _unknown(number: str) -> Identification:
    return Identification(RULES.classify(number), reason="number not in the customer store")


def _service(link: MqttLink, *, answers_now: bool, store_read: asyncio.Event) -> ScreenPopService:
    async def identify(number: str) -> Identification:
        await store_read.wait()  # a read that must be awaited (PostgreSQL, or SQLite through its thread)
        return _unknown(number)

    return ScreenPopService(
        directory=LineDirectory([LineOwner("e-100", "100", ("PJSIP/100",))]),
        identify=identify,
        identify_now=_unknown if answers_now else (lambda _number: None),
        out=AgentOutbound(link, Topics("cti"), "n1"),
        clock=lambda: NOW,
    )


def _queued_topics(link: MqttLink) -> list[str]:
    return [item.topic for item in link._outbox]


async def test_given_a_caller_known_without_waiting_when_it_rings_then_the_pop_is_queued_at_once() -> None:
    link = MqttLink(MqttConfig(node_id="n1"), status_topic="cti/daemon/n1/status", offline_payload={})
    pops = _service(link, answers_now=True, store_read=asyncio.Event())
    pops.submit([RING])
    # Not started, the link keeps what it is given in its outbox: the pop is there before any loop turn.
    assert _queued_topics(link)[0] == "cti/agents/e-100/popup"
    pop = json.loads(next(iter(link._outbox)).payload)
    assert pop["call_id"] == "1.1" and pop["identified"] is False
    assert pops.pops_published == 1


async def test_given_a_caller_needing_an_awaited_read_then_the_pop_waits_and_the_end_waits_for_it() -> None:
    link = MqttLink(MqttConfig(node_id="n1"), status_topic="cti/daemon/n1/status", offline_payload={})
    store_read = asyncio.Event()
    pops = _service(link, answers_now=False, store_read=store_read)
    pops.submit([RING, CallEnded("1.1", 16, "Normal Clearing")])
    await asyncio.sleep(0.01)
    assert _queued_topics(link) == []  # the read has not answered: neither the pop nor the end went out
    store_read.set()
    await pops.idle()
    topics = _queued_topics(link)
    assert topics.index("cti/agents/e-100/popup") < topics.index("cti/calls/1.1")


async def test_given_a_ready_line_paused_in_its_queue_then_it_is_republished_with_its_since_kept() -> None:
    link = MqttLink(MqttConfig(node_id="n1"), status_topic="cti/daemon/n1/status", offline_payload={})
    clock = [NOW]
    pops = ScreenPopService(
        directory=LineDirectory([LineOwner("e-202", "202", ("PJSIP/202",))]),
        identify=lambda _n: asyncio.sleep(0, _unknown(_n)),
        out=AgentOutbound(link, Topics("cti"), "n1"),
        clock=lambda: clock[0],
    )
    member = QueueMembership("service")
    paused = QueueMembership("service", paused=True, reason="lunch")
    for at, event in enumerate(
        [
            LineChanged("202", LineStatus.READY, None, (member,)),
            LineChanged("202", LineStatus.READY, None, (paused,)),
            LineChanged("202", LineStatus.RINGING, "1.1", (paused,)),
        ]
    ):
        clock[0] = NOW + timedelta(minutes=at)
        pops.submit([event])
    lines = [json.loads(item.payload) for item in link._outbox if item.topic == "cti/lines/202"]
    assert [(x["status"], x["queues"], x["since"][11:16]) for x in lines] == [
        ("ready", {"service": {"paused": False, "reason": None}}, "09:00"),
        (
            "ready",
            {"service": {"paused": True, "reason": "lunch"}},
            "09:00",
        ),  # the pause is not news of the phone
        ("ringing", {"service": {"paused": True, "reason": "lunch"}}, "09:02"),
    ]
