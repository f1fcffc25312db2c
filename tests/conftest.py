"""Shared fixtures: a private broker on a free port, the PBX simulator, seeded stores (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cti_daemon import logs
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.config import Config, with_overrides
from cti_daemon.crm.seed import SeedSummary, seed_demo
from cti_daemon.crm.store import Store, open_store
from cti_daemon.demo.broker import LocalBroker, mosquitto_binary
from cti_daemon.secret import Secret

AMI_SECRET = "s3cr3t-ami-Pa55"


class _CurrentStderr:
    """Log to whatever sys.stderr is now, so pytest's capture (capsys/capfd) sees our log lines."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False


def pytest_configure(config: pytest.Config) -> None:
    logs.configure(level="debug", fmt="json", stream=_CurrentStderr())


@pytest.fixture(autouse=True)
def _test_logging() -> None:
    """Every test starts with the suite's logging: a test that runs a command in process (`cli.main`)
    leaves that command's configuration behind (level warning), and a later test reading info events
    from stderr would see none of them."""
    logs.configure(level="debug", fmt="json", stream=_CurrentStderr())


def pytest_report_header(config: pytest.Config) -> list[str]:
    binary = mosquitto_binary()
    pg = os.environ.get("CTI_TEST_POSTGRES_URL")
    kind = f"mosquitto {binary}" if binary else "embedded amqtt (no mosquitto binary)"
    return [
        f"MQTT broker for tests: {kind}",
        f"PostgreSQL for store tests: {'yes' if pg else 'no (CTI_TEST_POSTGRES_URL unset; SQLite only)'}",
    ]


@pytest.fixture
async def broker() -> AsyncIterator[LocalBroker]:
    async with LocalBroker() as running:
        yield running


@dataclass
class Sim:
    pbx: SimPbx
    server: AmiServer

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    pbx = SimPbx()
    async with AmiServer(pbx, secret=AMI_SECRET, login_failure_delay_s=0.05) as server:
        yield Sim(pbx, server)


@pytest.fixture
async def seeded_sqlite(tmp_path: Path) -> tuple[str, SeedSummary]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    store = open_store(url)
    await store.create_schema()
    summary = await seed_demo(store)
    await store.dispose()
    return url, summary


async def _fresh_postgres(base_url: str) -> tuple[str, str]:
    import asyncpg  # noqa: PLC0415

    name = f"cti_test_{uuid.uuid4().hex[:12]}"
    dsn = base_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base_url.rsplit("/", 1)[0] + f"/{name}", name


async def _drop_postgres(base_url: str, name: str) -> None:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on each backend; PostgreSQL runs only where CTI_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    base = os.environ.get("CTI_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("CTI_TEST_POSTGRES_URL is not set")
    url, name = await _fresh_postgres(base)
    try:
        yield url
    finally:
        await _drop_postgres(base, name)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await opened.create_schema()
    try:
        yield opened
    finally:
        await opened.dispose()


def daemon_config(*, ami_port: int, mqtt_url: str, db_url: str, **sections: dict[str, Any]) -> Config:
    """A daemon pointed at the test's simulator, broker and store; fast pings and reconnects."""
    base = with_overrides(
        Config(),
        ami={
            "port": ami_port,
            "secret": Secret(AMI_SECRET),
            "ping_interval_s": 5.0,  # a loaded CI machine must not look like a dead PBX
            "reconnect_max_delay_s": 1.0,
            "connect_timeout_s": 2.0,
        },
        mqtt={"url": mqtt_url, "node_id": "test", "reconnect_max_delay_s": 0.5},
        database={"url": db_url},
        http={"listen": "127.0.0.1:0"},
        routing={"spool_file": _spool_for(db_url)},
    )
    return with_overrides(base, **sections) if sections else base


def _spool_for(db_url: str) -> str:
    """Next to a test's SQLite file (its own temporary directory); elsewhere a fresh directory."""
    if db_url.startswith("sqlite") and ":memory:" not in db_url:
        return str(Path(db_url.split("///", 1)[1]).with_suffix(".spool.jsonl"))
    return str(Path(tempfile.mkdtemp(prefix="cti-test-spool-")) / "journal-spool.jsonl")
