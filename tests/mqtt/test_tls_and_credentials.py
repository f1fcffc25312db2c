"""mqtts with a CA file and username/password, against a real mosquitto TLS listener whose certificates
the test makes with openssl."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cti_daemon.config import MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.secret import Secret
from tests.support.certs import make_ca, make_certs, password_file
from tests.support.mqtt import Subscriber

PASSWORD = "Br0ker-Pa55word-xyz"


def _link(url: str, **kw: object) -> MqttLink:
    cfg = MqttConfig(url=url, node_id="tls", reconnect_max_delay_s=0.3, **kw)  # type: ignore[arg-type]
    return MqttLink(cfg, status_topic="cti/daemon/tls/status", offline_payload={"state": "offline"})


def _events(err: str, name: str) -> list[dict[str, object]]:
    return [e for e in (json.loads(x) for x in err.splitlines() if x.startswith("{")) if e["event"] == name]


@pytest.fixture
def certs_dir(tmp_path: Path) -> Path:
    return tmp_path


async def test_given_an_mqtts_url_and_the_ca_then_the_daemon_publishes_over_tls(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    tls = f"cafile {certs.ca}\ncertfile {certs.server_cert}\nkeyfile {certs.server_key}\n"
    async with LocalBroker(extra_config=tls) as broker:
        url = f"mqtts://127.0.0.1:{broker.port}"
        async with (
            _link(url, ca_file=str(certs.ca)) as link,
            Subscriber(url, "cti/#", ca_file=str(certs.ca)) as sub,
        ):
            await link.wait_connected(10)
            link.retain("cti/lines/100", {"status": "ready"})
            link.publish("cti/agents/e-100/popup", {"type": "popup", "call_id": "1.1"})
            await sub.wait_for("cti/agents/e-100/popup", call_id="1.1")
            await sub.wait_for("cti/lines/100", status="ready")


async def test_given_a_broker_certificate_from_another_ca_then_no_connection_and_the_log_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    certs = make_certs(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_ca = make_ca(other, "other")
    tls = f"cafile {certs.ca}\ncertfile {certs.server_cert}\nkeyfile {certs.server_key}\n"
    async with (
        LocalBroker(extra_config=tls) as broker,
        _link(f"mqtts://127.0.0.1:{broker.port}", ca_file=str(other_ca)) as link,
    ):
        await asyncio.sleep(0.8)
        assert not link.connected
    reasons = [str(e["reason"]) for e in _events(capsys.readouterr().err, "mqtt.unavailable")]
    assert reasons and "CERTIFICATE_VERIFY_FAILED" in reasons[0].upper().replace(" ", "_")


async def test_given_username_and_password_then_the_daemon_connects_and_a_wrong_one_is_refused_unlogged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    passwords = password_file(tmp_path, {"cti-daemon": PASSWORD})
    auth = f"allow_anonymous false\npassword_file {passwords}\n"
    async with LocalBroker(extra_config=auth) as broker:
        async with _link(broker.url, username="cti-daemon", password=Secret(PASSWORD)) as link:
            await link.wait_connected(10)
            link.publish("cti/x", {"n": 1})
            await link.drain()
            assert link.stats.published == 1
        wrong = PASSWORD[::-1]
        async with _link(broker.url, username="cti-daemon", password=Secret(wrong)) as refused:
            await asyncio.sleep(0.8)
            assert not refused.connected
        async with _link(broker.url) as anonymous:
            await asyncio.sleep(0.5)
            assert not anonymous.connected
    err = capsys.readouterr().err
    reasons = [str(e["reason"]).lower() for e in _events(err, "mqtt.unavailable")]
    assert any("not authori" in r or "bad user name or password" in r for r in reasons), reasons
    assert PASSWORD not in err and wrong not in err
