"""config/mosquitto-acl.example and mosquitto-cti.conf.example loaded into a real mosquitto: an agent reads
only its own pops, reads every line and presence, writes only its own client state and presence request,
and cannot take over another client's connection (an agent's or the daemon's) by using its client id."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiomqtt

from cti_daemon.config import MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.secret import Secret
from tests.support.certs import password_file
from tests.support.mqtt import Subscriber

CONFIG = Path(__file__).resolve().parents[2] / "config"
ACL = CONFIG / "mosquitto-acl.example"
BROKER_CONF = CONFIG / "mosquitto-cti.conf.example"
USERS = {
    "cti-daemon": "daemon-pass-0123",
    "cti-observer": "observer-pass-0123",
    "e-100": "agent-a-pass-0123",
    "e-201": "agent-b-pass-0123",
}


def _broker(tmp_path: Path) -> LocalBroker:
    """mosquitto with the example configuration, only its two paths pointed at the test's files."""
    passwords = password_file(tmp_path, USERS)
    conf = BROKER_CONF.read_text(encoding="utf-8")
    conf, found_passwords = re.subn(r"(?m)^password_file .*$", f"password_file {passwords}", conf)
    conf, found_acl = re.subn(r"(?m)^acl_file .*$", f"acl_file {ACL}", conf)
    assert (found_passwords, found_acl) == (1, 1)
    return LocalBroker(extra_config=conf)


def _as(user: str, broker: LocalBroker, *filters: str) -> Subscriber:
    return Subscriber(broker.url, *filters, client_id=f"acl-{user}", username=user, password=USERS[user])


def _daemon(broker: LocalBroker) -> MqttLink:
    cfg = MqttConfig(url=broker.url, node_id="a", username="cti-daemon", password=Secret(USERS["cti-daemon"]))
    return MqttLink(cfg, status_topic="cti/daemon/a/status", offline_payload={"state": "offline"})


async def test_given_the_example_acl_then_agent_a_reads_its_pops_lines_and_presence_but_never_bs_pops(
    tmp_path: Path,
) -> None:
    async with (
        _broker(tmp_path) as broker,
        _daemon(broker) as daemon,
        _as(
            "e-100",
            broker,
            "cti/agents/+/popup",
            "cti/agents/e-201/#",
            "cti/lines/#",
            "cti/presence/#",
            "cti/#",
        ) as agent_a,
        _as("e-201", broker, "cti/agents/e-201/#") as agent_b,
    ):
        await daemon.wait_connected(5)
        daemon.retain("cti/lines/201", {"status": "ringing"})
        daemon.retain("cti/presence/e-201", {"status": "busy"})
        daemon.publish("cti/agents/e-201/popup", {"type": "popup", "call_id": "for-b"})
        daemon.publish("cti/agents/e-201/notify", {"kind": "assigned", "text": "for b"})
        daemon.publish("cti/agents/e-100/popup", {"type": "popup", "call_id": "for-a"})
        await agent_a.wait_for("cti/agents/e-100/popup", call_id="for-a")
        await agent_b.wait_for("cti/agents/e-201/popup", call_id="for-b")
        # One publisher, one subscriber: in order. B's pop went first, so had A been allowed it, it is here.
        assert {m.topic for m in agent_a.messages} == {
            "cti/lines/201",
            "cti/presence/e-201",
            "cti/agents/e-100/popup",
        }
        assert not [m for m in agent_a.messages if "e-201" in m.topic and "presence" not in m.topic]


async def test_given_the_example_acl_then_an_agent_writes_only_its_own_client_state_and_presence_request(
    tmp_path: Path,
) -> None:
    async with (
        _broker(tmp_path) as broker,
        _as("cti-daemon", broker, "cti/#") as watcher,
        _as("e-100", broker) as agent_a,
    ):
        attempts = [
            ("cti/presence/e-201/set", {"status": "away"}),  # someone else's presence
            ("cti/agents/e-201/client", "offline"),  # logging a colleague out
            ("cti/lines/100", {"status": "ready"}),  # forging a line
            ("cti/agents/e-201/popup", {"type": "popup", "call_id": "forged"}),  # forging a pop
            ("cti/presence/e-100", {"status": "available"}),  # bypassing the daemon's validation
            ("cti/daemon/a/status", {"state": "offline"}),
            ("cti/presence/e-100/set", {"status": "busy", "note": "lunch"}),  # allowed
            ("cti/agents/e-100/client", "online"),  # allowed, sent last
        ]
        for topic, payload in attempts:
            await agent_a.publish(topic, payload)
        # In order from one publisher: once the last one is here, any forged one that passed is too.
        client = await watcher.wait_on("cti/agents/e-100/client")
        assert client.payload == "online"
        assert [m.topic for m in watcher.messages] == ["cti/presence/e-100/set", "cti/agents/e-100/client"]


def _agent_with_will(broker: LocalBroker, user: str, *, client_id: str) -> aiomqtt.Client:
    """What an agent client does: connect with "offline" as the retained will of its client topic."""
    host, _, port = broker.url.removeprefix("mqtt://").rpartition(":")
    will = aiomqtt.Will(f"cti/agents/{user}/client", b'"offline"', qos=1, retain=True)
    return aiomqtt.Client(
        host, int(port), identifier=client_id, username=user, password=USERS[user], will=will
    )


async def test_given_the_example_broker_config_when_a_user_takes_an_agents_client_id_then_the_agent_stays(
    tmp_path: Path,
) -> None:
    async with (
        _broker(tmp_path) as broker,
        _as("cti-daemon", broker, "cti/agents/+/client") as watcher,
        _agent_with_will(broker, "e-201", client_id="cti-agent-e-201") as victim,
    ):
        await victim.subscribe("cti/agents/e-201/#", qos=1)
        async with _agent_with_will(broker, "e-100", client_id="cti-agent-e-201") as intruder:
            await intruder.publish("cti/agents/e-100/client", b'"online"', qos=1, retain=True)
            await watcher.wait_on("cti/agents/e-100/client")
        await watcher.publish("cti/agents/e-201/popup", {"type": "popup", "call_id": "still-here"})
        async with asyncio.timeout(5):
            async for message in victim.messages:
                assert message.topic.matches("cti/agents/e-201/popup")
                break
        assert not watcher.on("cti/agents/e-201/client")  # its will never fired


async def test_given_the_example_broker_config_when_a_user_takes_the_daemons_client_id_then_it_stays(
    tmp_path: Path,
) -> None:
    async with (
        _broker(tmp_path) as broker,
        _daemon(broker) as daemon,
        _as("cti-observer", broker, "cti/daemon/#") as watcher,  # its own user: the daemon's would be its id
    ):
        await daemon.wait_connected(5)
        for taken in ("cti-daemon-a", "cti-daemon"):  # the configured id, and the one the broker gives it
            async with _agent_with_will(broker, "e-100", client_id=taken) as intruder:
                await intruder.publish("cti/agents/e-100/client", b'"online"', qos=1)
        await asyncio.sleep(0.5)
        assert daemon.connected and daemon.stats.connects == 1
        assert not watcher.on("cti/daemon/a/status")  # no will
