"""Past one machine: one daemon per Asterisk node (node_id a and b), each on its own PBX, sharing one store
(PostgreSQL when CTI_TEST_POSTGRES_URL is set, and SQLite) and one broker. Pops from both nodes reach
their agents and each node's status topic is its own."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.app import Daemon
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import AMI_SECRET, daemon_config
from tests.support.mqtt import Subscriber


async def _ring(pbx: SimPbx, call: InboundCall) -> tuple[asyncio.Task[CallHandle], CallHandle]:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(place_inbound(pbx, call, started=started))
    return task, await asyncio.wait_for(started, 5)


async def test_given_two_nodes_on_one_store_and_broker_then_each_nodes_pops_reach_its_agents(
    store_url: str, broker: LocalBroker
) -> None:
    store = open_store(store_url)
    await store.create_schema()
    seed = await seed_demo(store)
    await store.dispose()
    pbx_a, pbx_b = SimPbx(), SimPbx()
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
            ring_a.cancel()
            ring_b.cancel()
        # Node b stopped: its status says so; node a's stays online and its own.
        await agents.wait_for("cti/daemon/b/status", state="offline")
        assert agents.on("cti/daemon/a/status")[-1].payload["state"] == "online"
        assert all(m.payload["node_id"] == "a" for m in agents.on("cti/daemon/a/status"))
        assert all(m.payload["node_id"] == "b" for m in agents.on("cti/daemon/b/status"))
