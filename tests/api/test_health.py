"""/healthz: 200 when AMI, MQTT and the store are up; 503 naming the part that is down, and 200 again
once it is back."""

from __future__ import annotations

import asyncio

from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim
from tests.support.api import Api


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
