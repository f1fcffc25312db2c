"""Secrets never reach a log line: not ours, not a library's, not in a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from cti_daemon import logs
from cti_daemon.app import Daemon
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.secret import Secret
from tests.conftest import AMI_SECRET, Sim, daemon_config

MQTT_PASSWORD = "mqtt-Pa55word-xyz"


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
async def test_given_failed_and_successful_logins_then_neither_secret_appears_in_any_log_line(
    sim: Sim, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "cti", MQTT_PASSWORD], check=True)
    db_url, _ = seeded_sqlite
    sim.server.secret = "the-pbx-wants-another-secret"
    async with LocalBroker(extra_config=f"allow_anonymous false\npassword_file {passwd}") as broker:
        config = daemon_config(
            ami_port=sim.port,
            mqtt_url=broker.url,
            db_url=db_url,
            mqtt={"username": "cti", "password": Secret("wrong-" + MQTT_PASSWORD)},
            logging={"level": "debug"},
        )
        redactor = logs.configure(
            level="debug",
            fmt="json",
            secrets=[AMI_SECRET, MQTT_PASSWORD, "wrong-" + MQTT_PASSWORD],
            stream=_Stderr(),
        )
        try:
            async with Daemon(config):
                await asyncio.sleep(1.5)  # AMI refuses the secret, the broker refuses the password
                assert sim.server.failed_logins >= 1
            sim.server.secret = AMI_SECRET
            good = daemon_config(
                ami_port=sim.port,
                mqtt_url=broker.url,
                db_url=db_url,
                mqtt={"username": "cti", "password": Secret(MQTT_PASSWORD)},
            )
            async with Daemon(good) as daemon:
                await daemon.wait_ready()
            logging.getLogger("panoramisk.manager").info(
                "Adding action %s", f"Action: Login\r\nUsername: cti\r\nSecret: {AMI_SECRET}"
            )
            try:
                raise RuntimeError(f"failed with password={MQTT_PASSWORD}")
            except RuntimeError:
                logs.get("test").exception("boom")
        finally:
            logs.configure(level="debug", fmt="json", stream=_Stderr())
    assert redactor is not None
    captured = capsys.readouterr().err
    events = [e["event"] for e in _json_lines(captured)]
    assert "ami.login_failed" in events and "mqtt.unavailable" in events and "daemon.ready" in events
    for secret in (AMI_SECRET, MQTT_PASSWORD):
        assert secret not in captured


def test_given_secret_shapes_then_they_are_masked_even_when_the_value_is_unknown() -> None:
    redactor = logs.Redactor()
    assert redactor.clean("Secret: abc123") == "Secret: ***"
    assert redactor.clean("postgresql+asyncpg://cti:pw-123@db/cti") == "postgresql+asyncpg://cti:***@db/cti"
    assert redactor.clean("Authorization: Bearer eyJabc.def") == "Authorization: Bearer ***"
    assert redactor.clean("password='x y'") == "password='*** y'"
    assert redactor.clean("nothing secret here") == "nothing secret here"


class _Stderr:
    def write(self, text: str) -> int:
        import sys  # noqa: PLC0415

        return sys.stderr.write(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False
