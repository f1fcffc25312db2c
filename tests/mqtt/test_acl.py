"""config/mosquitto-acl.example loaded into a real mosquitto: an agent reads only its own pops, reads
every line and presence, and writes only its own client state and presence request."""

from __future__ import annotations

from pathlib import Path

from cti_daemon.config import MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.secret import Secret
from tests.support.certs import password_file
from tests.support.mqtt import Subscriber

ACL = Path(__file__).resolve().parents[2] / "config" / "mosquitto-acl.example"
USERS = {"cti-daemon": "daemon-pass-0123", "e-100": "agent-a-pass-0123", "e-201": "agent-b-pass-0123"}


def _broker(tmp_path: Path) -> LocalBroker:
    passwords = password_file(tmp_path, USERS)
    return LocalBroker(extra_config=f"allow_anonymous false\npassword_file {passwords}\nacl_file {ACL}\n")


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
