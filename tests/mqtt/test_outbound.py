"""Every daemon topic of the contract, published through the real link to a real broker: notify,
presence (retained, back after a broker restart), traffic, and what the agent clients send back."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from cti_daemon.config import MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.inbound import (
    BadPayloadError,
    PresenceRequest,
    listen_to_agents,
    parse_client_state,
    parse_presence_set,
)
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.mqtt.outbound import AgentOutbound
from cti_daemon.outbound.payloads import ClientState
from cti_daemon.outbound.topics import Topics
from tests.support.mqtt import Subscriber

AT = datetime(2026, 11, 23, 9, 0, 0, 123000, tzinfo=UTC)


def _link(broker: LocalBroker) -> MqttLink:
    cfg = MqttConfig(url=broker.url, node_id="n1", reconnect_max_delay_s=0.3)
    return MqttLink(cfg, status_topic="cti/daemon/n1/status", offline_payload={"state": "offline"})


async def test_given_notifications_of_each_kind_then_each_reaches_that_employee_only() -> None:
    async with LocalBroker() as broker, _link(broker) as link, Subscriber(broker.url, "cti/agents/#") as sub:
        out = AgentOutbound(link, Topics("cti"), "n1")
        for kind in ("assigned", "purpose_group", "queue_reminder", "transfer"):
            out.notify(
                employee_id="e-201", kind=kind, contact_id="c-1", text=f"{kind}!", at=AT, call_id="9.1"
            )
        await link.drain()
        got = await sub.wait_for("cti/agents/e-201/notify", kind="transfer")
        assert got.payload == {
            "v": 1,
            "kind": "transfer",
            "contact_id": "c-1",
            "text": "transfer!",
            "at": "2026-11-23T09:00:00.123Z",
            "call_id": "9.1",
        }
        assert [m.payload["kind"] for m in sub.on("cti/agents/e-201/notify")] == [
            "assigned",
            "purpose_group",
            "queue_reminder",
            "transfer",
        ]
        assert all(not m.retain for m in sub.messages) and {m.topic for m in sub.messages} == {
            "cti/agents/e-201/notify"
        }


async def test_given_presence_then_it_is_retained_replaced_and_back_after_a_broker_restart() -> None:
    async with LocalBroker() as broker, _link(broker) as link:
        out = AgentOutbound(link, Topics("cti"), "n1")
        out.presence(employee_id="e-201", status="busy", note="lunch", client="online", since=AT)
        out.presence(employee_id="e-202", status="available", note=None, client="offline", since=AT)
        out.presence(employee_id="e-201", status="away", note="back at 14", client="online", since=AT)
        await link.wait_connected(5)
        await link.drain()
        await broker.stop()
        await broker.start()
        await link.wait_connected(10)
        await link.drain()
        async with Subscriber(broker.url, "cti/presence/#") as late:
            await late.wait_for("cti/presence/e-202")
            first = await late.wait_for("cti/presence/e-201")
            assert first.retain and first.payload == {
                "v": 1,
                "employee_id": "e-201",
                "status": "away",
                "note": "back at 14",
                "client": "online",
                "since": "2026-11-23T09:00:00.123Z",
            }
            assert len(late.on("cti/presence/e-201")) == 1


async def test_given_a_contact_record_then_traffic_carries_it_with_the_version() -> None:
    async with LocalBroker() as broker, _link(broker) as link, Subscriber(broker.url, "cti/traffic/#") as sub:
        out = AgentOutbound(link, Topics("cti"), "n1")
        record = {"id": "0190-c", "status": "registered", "purpose": "service", "notes": ["ёлка"]}
        out.traffic(contact_id="0190-c", contact=record)
        got = await sub.wait_for("cti/traffic/0190-c")
        assert got.payload == {"v": 1, **record} and not got.retain


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff", "not UTF-8 JSON"),
        (b"busy", "not UTF-8 JSON"),
        (b"[1]", "must be a JSON object"),
        (b"{}", "status must be"),
        (b'{"status": ""}', "status must be"),
        (b'{"status": "' + b"x" * 33 + b'"}', "status must be"),
        (b'{"status": 3}', "status must be"),
        (b'{"status": "busy", "note": 5}', "note must be"),
        (b'{"status": "busy", "note": "' + b"n" * 201 + b'"}', "note must be"),
        (b'{"status": "bu\\u0000sy"}', "control characters"),
    ],
)
def test_given_a_bad_presence_request_then_the_reason_is_clear(payload: bytes, reason: str) -> None:
    with pytest.raises(BadPayloadError, match=reason):
        parse_presence_set("e-1", payload)


def test_given_good_presence_requests_and_client_states_then_they_parse() -> None:
    assert parse_presence_set("e-1", '{"status":" busy ","note":"обед"}'.encode()) == PresenceRequest(
        "e-1", "busy", "обед"
    )
    assert parse_presence_set("e-1", b'{"status":"away","note":"  "}').note is None
    for raw, state in [(b'"online"', "online"), (b"offline", "offline"), (b'{"state":"online"}', "online")]:
        assert parse_client_state(raw) == state
    for raw in (b"maybe", b'"ONLINE!"', b"{bad", b'{"state": 1}'):
        with pytest.raises(BadPayloadError):
            parse_client_state(raw)


async def test_given_agents_sending_good_and_bad_messages_then_good_ones_arrive_and_bad_ones_are_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    requests: list[PresenceRequest] = []
    states: list[tuple[str, ClientState]] = []
    async with LocalBroker() as broker, _link(broker) as link:
        listen_to_agents(
            link,
            Topics("cti"),
            on_presence_set=requests.append,
            on_client_state=lambda e, s: states.append((e, s)),
        )
        await link.wait_connected(5)
        await asyncio.sleep(0.1)  # the subscriptions are made on connect
        async with Subscriber(broker.url, "nothing/#") as agent:
            await agent.publish("cti/presence/e-201/set", b"{not json")
            await agent.publish("cti/agents/e-201/client", b"perhaps")
            await agent.publish("cti/presence/e-201/set", {"status": "busy", "note": "call me later"})
            await agent.publish("cti/agents/e-201/client", "online")
            for _ in range(100):
                if states:
                    break
                await asyncio.sleep(0.02)
        assert link.connected
    assert requests == [PresenceRequest("e-201", "busy", "call me later")]
    assert states == [("e-201", "online")]
    events = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    bad = {e["event"]: e for e in events if e["event"].startswith("mqtt.bad_")}
    assert bad["mqtt.bad_presence_set"]["employee_id"] == "e-201"
    assert bad["mqtt.bad_client_state"]["reason"] == 'must be "online" or "offline"'
