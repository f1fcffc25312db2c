"""Past one machine: one daemon per Asterisk node (node_id a and b), each on its own PBX, sharing one store
(PostgreSQL when CTI_TEST_POSTGRES_URL is set, and SQLite) and one broker. Pops from both nodes reach
their agents, both journals land in the one store with no id clash, and each node's status topic is its
own."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from sqlalchemy import select

from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.app import Daemon
from cti_daemon.crm.models import Contact
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import AMI_SECRET, daemon_config
from tests.support.mqtt import Subscriber


async def _ring(pbx: SimPbx, call: InboundCall) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(place_inbound(pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


async def _journal_rows(url: str, call_ids: list[str]) -> list[tuple[str, str, str]]:
    store = open_store(url)
    try:
        for _ in range(100):
            async with store.session() as session:
                rows = (
                    await session.execute(
                        select(Contact.id, Contact.node_id, Contact.call_id).where(
                            Contact.call_id.in_(call_ids)
                        )
                    )
                ).all()
            if len(rows) >= len(call_ids):
                break
            await asyncio.sleep(0.05)
        return [(r[0], r[1] or "", r[2] or "") for r in rows]
    finally:
        await store.dispose()


async def test_given_two_nodes_on_one_store_and_broker_then_each_nodes_pops_reach_its_agents(
    store_url: str, broker: LocalBroker
) -> None:
    store = open_store(store_url)
    await store.create_schema()
    seed = await seed_demo(store)
    await store.dispose()
    pbx_a, pbx_b = SimPbx(system_name="pbx-a"), SimPbx(system_name="pbx-b")
    async with AsyncExitStack() as stack:
        ami_a = await stack.enter_async_context(AmiServer(pbx_a, secret=AMI_SECRET))
        ami_b = await stack.enter_async_context(AmiServer(pbx_b, secret=AMI_SECRET))
        agents = await stack.enter_async_context(Subscriber(broker.url, "cti/#"))
        config_a = daemon_config(
            ami_port=ami_a.port, mqtt_url=broker.url, db_url=store_url, mqtt={"node_id": "a"}
        )
        config_b = daemon_config(
            ami_port=ami_b.port, mqtt_url=broker.url, db_url=store_url, mqtt={"node_id": "b"}
        )
        node_a = await stack.enter_async_context(Daemon(config_a))
        async with Daemon(config_b) as node_b:
            await node_a.wait_ready()
            await node_b.wait_ready()
            ring_a, call_a = await _ring(pbx_a, InboundCall(seed.known_numbers[0], extension="100", ring_s=5))
            ring_b, call_b = await _ring(pbx_b, InboundCall(seed.known_numbers[1], extension="201", ring_s=5))
            pop_a = await agents.wait_for("cti/agents/e-100/popup", type="popup", node_id="a")
            pop_b = await agents.wait_for("cti/agents/e-201/popup", type="popup", node_id="b")
            assert pop_a.payload["call_id"] == call_a.call_id and pop_a.payload["customer"]["id"] == "c-00001"
            assert pop_b.payload["call_id"] == call_b.call_id and pop_b.payload["customer"]["id"] == "c-00002"
            assert len(agents.on("cti/agents/e-100/popup")) == len(agents.on("cti/agents/e-201/popup")) == 1
            await agents.wait_for("cti/daemon/a/status", node_id="a", ami="connected")
            await agents.wait_for("cti/daemon/b/status", node_id="b", ami="connected")
            # Both nodes' receptions take calls at the same moment: two journals, one store.
            both = [
                await _ring(pbx, InboundCall(seed.unknown_numbers[i], ring_s=0.2, talk_s=0.05))
                for i, pbx in enumerate((pbx_a, pbx_b, pbx_a, pbx_b))
            ]
            ring_a.cancel()
            ring_b.cancel()
            await asyncio.gather(*(task for task, _ in both))
            contacts = await _journal_rows(store_url, [h.call_id for _, h in both] + [call_a.call_id])
            assert sorted(node for _, node, _ in contacts) == ["a", "a", "a", "b", "b"]
            assert len({contact_id for contact_id, _, _ in contacts}) == 5  # UUIDv7: no clash
            assert all(call_id.startswith(f"pbx-{node}-") for _, node, call_id in contacts)
        # Node b stopped: its status says so; node a's stays online and its own.
        await agents.wait_for("cti/daemon/b/status", state="offline")
        assert agents.on("cti/daemon/a/status")[-1].payload["state"] == "online"
        assert all(m.payload["node_id"] == "a" for m in agents.on("cti/daemon/a/status"))
        assert all(m.payload["node_id"] == "b" for m in agents.on("cti/daemon/b/status"))
