"""The API tests' daemon: simulator over TCP, mosquitto, a seeded SQLite store, a tokens file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cti_daemon.crm.seed import SeedSummary
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, daemon_config
from tests.support.api import Api, new_token, reception_api, running_api, write_tokens


@pytest.fixture
async def api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    token = new_token()
    tokens = write_tokens(tmp_path, ("crm", new_token()), ("reception-console", token))
    db_url, _ = seeded_sqlite
    config = daemon_config(
        ami_port=sim.port, mqtt_url=broker.url, db_url=db_url, http={"tokens_file": str(tokens)}
    )
    async with running_api(config, token) as running:
        yield running


@pytest.fixture
async def pbx_api(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> AsyncIterator[Api]:
    """For acting on calls (transfers, click to dial): phones that answer by themselves do so within
    0.15 s, and the PBX's confirmation is awaited 2 s at most."""
    sim.pbx.speed = 0.1
    async with reception_api(
        ami_port=sim.port,
        mqtt_url=broker.url,
        db_url=seeded_sqlite[0],
        tmp_path=tmp_path,
        routing={"transfer_confirm_s": 2.0},
    ) as running:
        yield running
    sim.pbx.cancel_flows()
