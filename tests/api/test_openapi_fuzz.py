"""A property-based run over the OpenAPI document (schemathesis generates the requests from it): whatever
a client sends, valid or not, the daemon never answers with a 5xx, and every answer is JSON in the shape
the document promises for errors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.app import Daemon
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import AMI_SECRET, daemon_config
from tests.support.api import new_token, write_tokens


@dataclass
class Served:
    base: str
    token: str
    document: dict[str, Any]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A whole daemon (simulator, mosquitto, seeded SQLite) in a thread of its own: schemathesis calls it
    synchronously over real HTTP."""
    token = new_token()
    tokens = write_tokens(tmp_path, ("fuzz", token))
    ready: dict[str, Any] = {}
    up = threading.Event()
    loop_box: list[asyncio.AbstractEventLoop] = []
    stop_box: list[asyncio.Event] = []

    async def main() -> None:
        db_url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
        store = open_store(db_url)
        await store.create_schema()
        await seed_demo(store)
        await store.dispose()
        stop = asyncio.Event()
        loop_box.append(asyncio.get_running_loop())
        stop_box.append(stop)
        async with LocalBroker() as broker, AmiServer(SimPbx(), secret=AMI_SECRET) as ami:
            config = daemon_config(
                ami_port=ami.port, mqtt_url=broker.url, db_url=db_url, http={"tokens_file": str(tokens)}
            )
            async with Daemon(config) as daemon:
                await daemon.wait_ready()
                ready["base"] = f"http://127.0.0.1:{daemon.api.port}"
                ready["document"] = daemon.api.document
                up.set()
                await stop.wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="fuzzed-daemon")
    thread.start()
    try:
        assert up.wait(20), "the daemon did not start"
        yield Served(ready["base"], token, ready["document"])
    finally:
        if loop_box:
            loop_box[0].call_soon_threadsafe(stop_box[0].set)
        thread.join(20)


def test_given_requests_generated_from_the_document_then_no_answer_is_a_5xx(served: Served) -> None:
    schema = schemathesis.openapi.from_dict(served.document)
    session = requests.Session()
    auth = {"Authorization": f"Bearer {served.token}"}
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an operation schemathesis cannot read: {result}"
        operations.append(result.ok())
    assert len(operations) == len([op for ops in served.document["paths"].values() for op in ops])
    seen: dict[str, set[int]] = {}

    for operation in operations:

        @settings(
            max_examples=50,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def no_server_error(case: Any) -> None:
            response = case.call(base_url=served.base, session=session, headers=auth)
            seen.setdefault(f"{case.method} {case.operation.path}", set()).add(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path, case.query, response.text)
            if response.status_code >= 400:
                body = response.json()
                assert set(body["error"]) >= {"code", "message", "field"}, body

        no_server_error()
    session.close()
    assert "GET /api/v1/lookup" in seen and seen["GET /api/v1/lookup"] & {200, 400}
