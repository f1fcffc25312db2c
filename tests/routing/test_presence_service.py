"""Presence with a real broker: only employees get one, and what agents said before the employee list was
read waits for it instead of being lost or published unchecked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from cti_daemon.config import MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.inbound import PresenceRequest
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.mqtt.outbound import AgentOutbound
from cti_daemon.outbound.topics import Topics
from cti_daemon.routing.presence import PresenceBook
from cti_daemon.routing.presence_service import PresenceService
from tests.support.mqtt import Subscriber

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_given_no_employee_list_yet_then_requests_wait_and_are_judged_when_it_comes(
    broker: LocalBroker,
) -> None:
    link = MqttLink(
        MqttConfig(url=broker.url, node_id="a"), status_topic="cti/daemon/a/status", offline_payload={}
    )
    service = PresenceService(PresenceBook(), AgentOutbound(link, Topics("cti"), "a"), lambda: T0)
    async with link, Subscriber(broker.url, "cti/presence/#") as watcher:
        await link.wait_connected(5)
        service.client_state("e-201", "online")
        service.requested(PresenceRequest("e-201", "away", "at lunch"))
        service.requested(PresenceRequest("evil", "busy", None))
        service.client_state("evil", "online")
        await asyncio.sleep(0.3)
        assert not watcher.messages  # nothing is published before the list is known
        service.employees_known({"e-201", "e-202"})
        here = await watcher.wait_for("cti/presence/e-201", status="away")
        assert here.payload["client"] == "online" and here.payload["note"] == "at lunch"
        service.client_state("e-202", "online")  # after the evil ones, from the same publisher
        await watcher.wait_for("cti/presence/e-202", client="online")
        assert not watcher.on("cti/presence/evil")
