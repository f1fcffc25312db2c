"""Postponements come due (issue 14, item 1), on SQLite and PostgreSQL, with two daemon nodes on one
store: at `until` the contact leaves `postponed`, goes back to whom it was postponed to, and exactly one
`postponed_due` notify reaches them; one due while no daemon ran comes due at the next start."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.config import Config
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import AMI_SECRET, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.desk import seed_store
from tests.support.mqtt import Subscriber


def _config(port: int, broker: LocalBroker, store_url: str, node: str, tokens: Path) -> Config:
    return daemon_config(
        ami_port=port,
        mqtt_url=broker.url,
        db_url=store_url,
        mqtt={"node_id": node},
        routing={"due_check_s": 0.1},
        http={"tokens_file": str(tokens)},
    )


async def _postpone(api: Api, seconds: float) -> str:
    _, contact = await api.send(
        "POST", "/api/v1/contacts", {"type": "call", "customer_id": "c-00003", "purpose": "service"}
    )
    until = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    body = {"until": until, "reason": "customer abroad", "to_employee": "e-201"}
    status, later = await api.send("POST", f"/api/v1/contacts/{contact['id']}/postpone", body)
    assert status == 200 and later["status"] == "postponed", later
    return str(contact["id"])


async def test_given_two_nodes_when_a_postponement_comes_due_then_one_notify_and_the_contact_is_assigned(
    store_url: str, broker: LocalBroker, tmp_path: Path
) -> None:
    await seed_store(store_url)
    token = new_token()
    tokens = write_tokens(tmp_path, ("crm", token))
    async with AsyncExitStack() as stack:
        ports = []
        for name in ("pbx-a", "pbx-b"):
            server = await stack.enter_async_context(AmiServer(SimPbx(system_name=name), secret=AMI_SECRET))
            ports.append(server.port)
        agents = await stack.enter_async_context(Subscriber(broker.url, "cti/agents/+/notify"))
        api_a = await stack.enter_async_context(
            running_api(_config(ports[0], broker, store_url, "a", tokens), token)
        )
        await stack.enter_async_context(running_api(_config(ports[1], broker, store_url, "b", tokens), token))
        contact_id = await _postpone(api_a, 1.0)
        notice = await agents.wait_for("cti/agents/e-201/notify", kind="postponed_due", contact_id=contact_id)
        assert "customer abroad" in notice.payload["text"]
        await asyncio.sleep(0.6)  # both nodes had several chances to send it again
        due = [m for m in agents.on("cti/agents/e-201/notify") if m.payload["kind"] == "postponed_due"]
        assert len(due) == 1
        _, contact = await api_a.get(f"/api/v1/contacts/{contact_id}")
        assert contact["status"] == "assigned" and contact["responsible_employee_id"] == "e-201"
        assert [h["kind"] for h in contact["history"]][-1] == "postponed_due"


async def test_given_a_postponement_due_while_no_daemon_ran_then_it_comes_due_at_the_next_start(
    store_url: str, broker: LocalBroker, tmp_path: Path
) -> None:
    await seed_store(store_url)
    token = new_token()
    tokens = write_tokens(tmp_path, ("crm", token))
    async with AmiServer(SimPbx(), secret=AMI_SECRET) as server:
        config = _config(server.port, broker, store_url, "a", tokens)
        config_slow = daemon_config(
            ami_port=server.port,
            mqtt_url=broker.url,
            db_url=store_url,
            routing={"due_check_s": 3600},
            http={"tokens_file": str(tokens)},
        )
        async with running_api(config_slow, token) as api:  # checks once at start, then not for an hour
            contact_id = await _postpone(api, 0.3)
        await asyncio.sleep(0.5)
        async with (
            Subscriber(broker.url, "cti/agents/+/notify") as agents,
            running_api(config, token) as api,
        ):
            await agents.wait_for("cti/agents/e-201/notify", kind="postponed_due", contact_id=contact_id)
            _, contact = await api.get(f"/api/v1/contacts/{contact_id}")
            assert contact["status"] == "assigned"
