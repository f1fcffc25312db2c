"""/healthz: 200 when AMI, MQTT and the store are up; 503 naming the part that is down, and 200 again
once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import AMI_SECRET, Sim
from tests.support.api import Api, reception_api
from tests.support.mqtt import Subscriber


async def _health(api: Api) -> tuple[int, dict[str, object]]:
    async with api.http.get(api.url("/healthz")) as resp:
        return resp.status, await resp.json()


async def _until_status(api: Api, status: int, timeout: float = 10.0) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got, report = await _health(api)
        if got == status:
            return report
        assert loop.time() < deadline, f"/healthz stayed {got}: {report}"
        await asyncio.sleep(0.05)


async def test_given_everything_up_then_healthz_is_200_with_each_part(api: Api) -> None:
    status, report = await _health(api)
    assert status == 200 and report["status"] == "ok" and report["node_id"] == "test"
    for part in ("ami", "mqtt", "database"):
        assert report[part]["up"] is True  # type: ignore[index]


async def test_given_the_pbx_goes_away_then_503_names_ami_and_200_when_it_is_back(api: Api, sim: Sim) -> None:
    await sim.server.stop()
    report = await _until_status(api, 503)
    assert report["status"] == "degraded" and report["ami"]["up"] is False  # type: ignore[index]
    assert report["mqtt"]["up"] is True  # type: ignore[index]
    await sim.server.start()
    await _until_status(api, 200)


async def test_given_the_broker_goes_away_then_503_names_mqtt_and_200_when_it_is_back(
    api: Api, broker: LocalBroker
) -> None:
    await broker.stop()
    report = await _until_status(api, 503)
    assert report["mqtt"]["up"] is False and report["ami"]["up"] is True  # type: ignore[index]
    await broker.start()
    await _until_status(api, 200)


@pytest.fixture
async def quick_api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    """A daemon that notices a silent PBX within a second and retries within half a second."""
    ami = {"ping_interval_s": 0.5, "connect_timeout_s": 0.5, "reconnect_max_delay_s": 0.5}
    async with reception_api(
        ami_port=sim.port, mqtt_url=broker.url, db_url=seeded_sqlite[0], tmp_path=tmp_path, ami=ami
    ) as running:
        yield running


def _ami_state_metric(text: str) -> str | None:
    """The state whose cti_ami_state sample is 1 in a /metrics scrape."""
    for line in text.splitlines():
        if line.startswith("cti_ami_state{") and line.endswith(" 1.0"):
            return line.split('state="', 1)[1].split('"', 1)[0]
    return None


async def _says(api: Api, agents: Subscriber, reason: str | None) -> dict[str, object]:
    """/healthz, the daemon's retained status and /metrics all give this reason for AMI."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10.0
    while True:
        status, report = await _health(api)
        ami: dict[str, object] = report["ami"]  # type: ignore[assignment]
        if ami["reason"] == reason:
            break
        assert loop.time() < deadline, f"/healthz never said {reason}: {report}"
        await asyncio.sleep(0.05)
    assert status == (200 if reason is None else 503) and ami["up"] is (reason is None)
    await agents.wait_for("cti/daemon/test/status", ami_reason=reason, timeout=5)
    async with api.http.get(api.url("/metrics")) as resp:
        assert _ami_state_metric(await resp.text()) == (reason or "up")
    return ami


async def test_given_each_way_ami_can_fail_then_healthz_status_and_metric_name_the_reason_and_its_time(
    quick_api: Api, sim: Sim, broker: LocalBroker
) -> None:
    api, server = quick_api, sim.server
    async with Subscriber(broker.url, "cti/daemon/#") as agents:
        ami = await _says(api, agents, None)
        assert ami["last_error_at"] is None

        await server.stop()  # refused connections
        ami = await _says(api, agents, "unreachable")
        assert isinstance(ami["last_error_at"], str) and ami["last_error"]
        status = agents.on("cti/daemon/test/status")[-1].payload
        assert status["ami"] == "disconnected" and status["ami_last_error_at"]

        server.secret = "changed-on-the-pbx"  # a wrong secret
        await server.start()
        ami = await _says(api, agents, "auth_failed")
        assert "Authentication failed" in str(ami["last_error"])
        assert AMI_SECRET not in str(ami) and "changed-on-the-pbx" not in str(ami)

        await server.stop()
        server.secret = AMI_SECRET
        await server.start(booting=True)  # logged in, FullyBooted not yet sent
        await _says(api, agents, "booting")
        assert api.daemon.ami.connected
        server.finish_boot()
        ami = await _says(api, agents, None)
        assert ami["last_error_at"] is not None, "the last failure is still told after recovery"

        server.go_silent(hang=True)  # a hung Asterisk: pings unanswered, new connections never greeted
        await _says(api, agents, "silent")
        server.wake_up()
        await _says(api, agents, None)
