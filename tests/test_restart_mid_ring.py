"""The daemon restarted, or killed with SIGKILL, while a call rings reception: after the restart the call is
adopted from Asterisk's channel list and keeps the one contact its ring registered (same contact_id in the
second pop); when the caller hangs up, that contact is missed, counted from the real ring."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.app import Daemon
from cti_daemon.crm.journal_store import ContactRecord, Filters, JournalStore
from cti_daemon.crm.seed import SeedSummary, seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker, free_port
from tests.conftest import AMI_SECRET, Sim, daemon_config
from tests.support.api import reception_api
from tests.support.mqtt import Received, Subscriber

RING_S = 9.0  # the caller gives up after this long; the daemon is away for part of it
KILLED_RING_S = 18.0  # the same with two `cti-daemon run` starts inside it (slow on a loaded machine)


async def _ringing(sim: Sim, call: InboundCall) -> CallHandle:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    sim.pbx.spawn(place_inbound(sim.pbx, call, started=started))
    return await asyncio.wait_for(started, 5)


async def _after(
    agents: Subscriber, start: int, topic: str, timeout: float = 10.0, **match: object
) -> Received:
    """The first message on `topic` matching `match` among those that arrived after `start`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for m in agents.messages[start:]:
            if (
                m.topic == topic
                and isinstance(m.payload, dict)
                and all(m.payload.get(k) == v for k, v in match.items())
            ):
                return m
        assert loop.time() < deadline, f"nothing on {topic} matching {match}"
        await asyncio.sleep(0.02)


async def _contacts_of(db_url: str, call_id: str) -> list[ContactRecord]:
    store = open_store(db_url)
    try:
        return await JournalStore(store).query(Filters(call_id=call_id))
    finally:
        await store.dispose()


async def _stored(db_url: str, call_id: str) -> None:
    for _ in range(250):
        if await _contacts_of(db_url, call_id):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the ring's contact of {call_id} never reached the store")


async def _one_missed_contact(db_url: str, call_id: str, contact_id: str) -> int:
    """The call has exactly the one contact, missed; returns the seconds its reason counts."""
    (contact,) = await _contacts_of(db_url, call_id)
    assert (contact.id, contact.status) == (contact_id, "missed")
    assert contact.missed_reason is not None
    found = re.fullmatch(r"the caller hung up after (\d+) s; nobody answered", contact.missed_reason)
    assert found, contact.missed_reason
    return int(found.group(1))


async def test_given_a_call_ringing_reception_when_the_daemon_restarts_then_one_contact_and_the_same_id_pops(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    db_url, seed = seeded_sqlite
    config = daemon_config(ami_port=sim.port, mqtt_url=broker.url, db_url=db_url)
    async with Subscriber(broker.url, "cti/#") as agents:
        async with Daemon(config) as first:
            await first.wait_ready()
            call = await _ringing(sim, InboundCall(seed.known_numbers[0], answer=False, ring_s=RING_S))
            pop = await agents.wait_for("cti/agents/e-100/popup", type="popup", call_id=call.call_id)
            contact_id = pop.payload["contact_id"]
            await _stored(db_url, call.call_id)
        await asyncio.sleep(2.0)  # nobody watches while it rings on
        start = len(agents.messages)
        async with Daemon(config) as second:
            again = await _after(agents, start, "cti/agents/e-100/popup", type="popup", call_id=call.call_id)
            assert again.payload["contact_id"] == contact_id, "one call, one contact: the same one"
            ringing = await _after(agents, start, f"cti/calls/{call.call_id}", event="ringing")
            assert ringing.payload["contact_id"] == contact_id
            await _after(agents, start, f"cti/traffic/{contact_id}", timeout=RING_S + 5, status="missed")
            await second.ring_contacts.idle()
    waited = await _one_missed_contact(db_url, call.call_id, contact_id)
    assert waited >= RING_S - 2, f"counted from the restart, not from the ring: {waited} s"
    registered = [
        m
        for m in agents.messages
        if m.topic.startswith("cti/traffic/") and m.payload.get("status") == "registered"
    ]
    # One id however often it is told (the PBX's facts of the call re-publish the same contact).
    assert {m.payload["id"] for m in registered} == {contact_id}, "no second contact was registered"


async def test_given_a_call_answered_at_reception_when_the_daemon_restarts_then_the_call_names_its_contact(
    sim: Sim, broker: LocalBroker, seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path
) -> None:
    db_url, seed = seeded_sqlite
    where = {"ami_port": sim.port, "mqtt_url": broker.url, "db_url": db_url, "tmp_path": tmp_path}
    async with Subscriber(broker.url, "cti/#") as agents:
        async with reception_api(**where) as first:  # type: ignore[arg-type]
            call = await _ringing(sim, InboundCall(seed.known_numbers[1], ring_s=0.2, talk_s=None))
            pop = await agents.wait_for("cti/agents/e-100/popup", type="popup", call_id=call.call_id)
            contact_id = pop.payload["contact_id"]
            await agents.wait_for(f"cti/calls/{call.call_id}", event="answered")
            await _stored(db_url, call.call_id)
            assert (await first.get(f"/api/v1/calls/{call.call_id}"))[1]["contact_id"] == contact_id
        async with reception_api(**where) as second:  # type: ignore[arg-type]
            for _ in range(250):
                status, body = await second.get(f"/api/v1/calls/{call.call_id}")
                if status == 200 and body["contact_id"] is not None:
                    break
                await asyncio.sleep(0.02)
            assert body["state"] == "talking" and body["contact_id"] == contact_id
            sim.pbx.cancel_flows()
    (contact,) = await _contacts_of(db_url, call.call_id)
    assert contact.id == contact_id


async def _run_daemon(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cti_daemon",
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


@contextlib.asynccontextmanager
async def _seeded(store_url: str) -> AsyncIterator[SeedSummary]:
    store = open_store(store_url)
    try:
        await store.create_schema()
        yield await seed_demo(store)
    finally:
        await store.dispose()


async def test_given_cti_daemon_run_killed_with_sigkill_mid_ring_then_the_next_one_keeps_the_calls_contact(
    sim: Sim, broker: LocalBroker, store_url: str, tmp_path: Path
) -> None:
    async with _seeded(store_url) as seed:
        pass
    cfg = tmp_path / "cti.toml"
    cfg.write_text(
        f'[ami]\nport = {sim.port}\nsecret = "{AMI_SECRET}"\nreconnect_max_delay_s = 1.0\n'
        f'[mqtt]\nurl = "{broker.url}"\nnode_id = "kill"\n'
        f'[database]\nurl = "{store_url}"\n'
        f'[http]\nlisten = "127.0.0.1:{free_port()}"\n'
        f'[routing]\nspool_file = "{tmp_path / "spool.jsonl"}"\n'
        '[logging]\nformat = "json"\n',
        encoding="utf-8",
    )
    log = tmp_path / "daemon.log"
    async with Subscriber(broker.url, "cti/#") as agents:
        proc = await _run_daemon(cfg, log)
        try:
            await agents.wait_for("cti/daemon/kill/status", timeout=20, ami="connected")
            call = await _ringing(sim, InboundCall(seed.known_numbers[0], answer=False, ring_s=KILLED_RING_S))
            pop = await agents.wait_for(
                "cti/agents/e-100/popup", timeout=10, type="popup", call_id=call.call_id
            )
            contact_id = pop.payload["contact_id"]
            await _stored(store_url, call.call_id)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        start = len(agents.messages)
        proc = await _run_daemon(cfg, log)
        try:
            again = await _after(
                agents, start, "cti/agents/e-100/popup", timeout=20, type="popup", call_id=call.call_id
            )
            assert again.payload["contact_id"] == contact_id
            await _after(
                agents, start, f"cti/traffic/{contact_id}", timeout=KILLED_RING_S + 5, status="missed"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 20)
    waited = await _one_missed_contact(store_url, call.call_id, contact_id)
    assert waited >= KILLED_RING_S - 2, (
        f"counted from the restart, not from the ring: {waited} s ({log.read_text()[-2000:]})"
    )
