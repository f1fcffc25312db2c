"""Nothing lost: PostgreSQL cut away (a TCP gate the test closes) while calls ring and reception
registers traffic, the daemon restarted during the outage, the store restored: every contact there once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import Sim, _drop_postgres, _fresh_postgres, daemon_config
from tests.support.api import Api, new_token, running_api, write_tokens
from tests.support.gate import TcpGate
from tests.support.mqtt import Subscriber

pytestmark = pytest.mark.skipif(
    not os.environ.get("CTI_TEST_POSTGRES_URL"), reason="needs CTI_TEST_POSTGRES_URL"
)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    base = os.environ["CTI_TEST_POSTGRES_URL"]
    url, name = await _fresh_postgres(base)
    store = open_store(url)
    await store.create_schema()
    await seed_demo(store)
    await store.dispose()
    try:
        yield url
    finally:
        await _drop_postgres(base, name)


def _through(url: str, gate: TcpGate) -> str:
    return url.replace("127.0.0.1:5432", f"127.0.0.1:{gate.port}")


async def _ring(sim: Sim, number: str) -> str:
    started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
    await place_inbound(sim.pbx, InboundCall(number, ring_s=0.3, talk_s=0.1), started=started)
    return started.result().call_id


async def _contacts_by_call(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        async with store.session() as session:
            rows = await session.execute(
                text("SELECT call_id, COUNT(*) FROM contacts WHERE call_id IS NOT NULL GROUP BY call_id")
            )
            return {call_id: int(n) for call_id, n in rows.all()}
    finally:
        await store.dispose()


async def _count_of(url: str, contact_id: str) -> int:
    store = open_store(url)
    try:
        async with store.session() as session:
            return int(
                (
                    await session.execute(
                        text("SELECT COUNT(*) FROM contacts WHERE id = :i"), {"i": contact_id}
                    )
                ).scalar_one()
            )
    finally:
        await store.dispose()


async def test_given_the_store_cut_away_and_the_daemon_restarted_then_every_contact_lands_once(
    sim: Sim, broker: LocalBroker, postgres_url: str, tmp_path: Path
) -> None:
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    spool = tmp_path / "spool" / "journal.jsonl"
    async with TcpGate(5432) as gate, Subscriber(broker.url, "cti/agents/e-100/popup") as agent:
        config = daemon_config(
            ami_port=sim.port,
            mqtt_url=broker.url,
            db_url=_through(postgres_url, gate),
            http={"tokens_file": str(tokens)},
            routing={"spool_file": str(spool)},
        )
        calls: list[str] = []
        async with running_api(config, token) as api:
            calls.append(await _ring(sim, "89161234001"))  # the store is there
            await gate.close()
            for n in range(3):  # the store is gone: pops still go out, contacts wait in the spool
                call_id = await _ring(sim, f"8916123410{n}")
                calls.append(call_id)
                pop = await agent.wait_for("cti/agents/e-100/popup", call_id=call_id, type="popup")
                assert pop.payload["identified"] is False and pop.payload["contact_id"]
                assert pop.payload["reason"].startswith("customer store unavailable")
            visit = await _register_during_outage(api)
        # Restart during the outage: a new daemon process-equivalent on the same spool file.
        assert spool.exists() and len(spool.read_text(encoding="utf-8").splitlines()) >= 4
        async with running_api(config, token, ready=False) as api:
            calls.append(await _ring(sim, "89161234200"))
            await asyncio.sleep(0.3)
            await gate.open()  # the store is back
            for _ in range(200):
                by_call = await _contacts_by_call(postgres_url)
                if all(by_call.get(c) for c in calls) and await _count_of(postgres_url, visit):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.5)  # one more replay round: still exactly once
            assert api.daemon.writer.spool.pending() == []
    by_call = await _contacts_by_call(postgres_url)
    assert {c: by_call.get(c) for c in calls} == dict.fromkeys(calls, 1)
    assert await _count_of(postgres_url, visit) == 1


async def _register_during_outage(api: Api) -> str:
    status, body = await api.send(
        "POST", "/api/v1/contacts", {"type": "visit", "caller": {"name": "Oleg", "phone": "+7 916 555-00-11"}}
    )
    assert status == 202 and body["spooled"] is True, body
    status, refused = await api.send("PATCH", f"/api/v1/contacts/{body['id']}", {"description": "x"})
    assert status == 503 and refused["error"]["code"] == "store_unavailable"  # never acknowledged, then lost
    return str(body["id"])


async def test_given_the_store_away_when_callers_hang_up_unanswered_then_their_contacts_end_missed_once_back(
    sim: Sim, broker: LocalBroker, postgres_url: str, tmp_path: Path
) -> None:
    """One call rang while the store was there and was abandoned while it was away; one rang and was
    abandoned while it was away. Both marks wait in the spool and land, dated at the hang-up, once back."""
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    topics = ("cti/agents/e-100/popup", "cti/traffic/#")
    async with TcpGate(5432) as gate, Subscriber(broker.url, *topics) as seen:
        config = daemon_config(
            ami_port=sim.port,
            mqtt_url=broker.url,
            db_url=_through(postgres_url, gate),
            http={"tokens_file": str(tokens)},
            routing={"spool_file": str(tmp_path / "spool.jsonl")},
        )
        async with running_api(config, token) as api:
            started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
            call = InboundCall("89161234301", answer=False, ring_s=1.5)
            first_call = asyncio.create_task(place_inbound(sim.pbx, call, started=started))
            first = await _contact_of(seen, (await started).call_id)
            assert (await _contact(api, first))["status"] == "registered"  # in the store already
            await gate.close()
            await first_call  # the caller gives up while the store is away
            second_call = await place_inbound(sim.pbx, InboundCall("89161234302", answer=False, ring_s=0.3))
            second = await _contact_of(seen, second_call.call_id)
            for _ in range(50):
                spooled = [r["op"] for r in api.daemon.writer.spool.pending()]
                if spooled.count("missed") == 2:
                    break
                await asyncio.sleep(0.1)
            assert sorted(spooled) == ["contact", "missed", "missed"], spooled
            assert await _spool_reported(api) == (3, 3)  # what an operator sees meanwhile
            gave_up_by = api.daemon.clock()
            await gate.open()
            for contact_id in (first, second):
                await seen.wait_for(f"cti/traffic/{contact_id}", status="missed", timeout=15)
                contact = await _contact(api, contact_id, status="missed")
                assert "nobody answered" in contact["missed_reason"]
                assert [h["kind"] for h in contact["history"]] == ["registered", "missed"]
                missed_at = datetime.fromisoformat(contact["history"][1]["at"].replace("Z", "+00:00"))
                assert missed_at <= gave_up_by  # the time of the hang-up, not of the replay
            await asyncio.sleep(2.5)  # one more replay round: nothing written twice
            assert api.daemon.writer.spool.pending() == []
            assert await _spool_reported(api) == (0, 0)
            again = await _contact(api, first, status="missed")
            assert [h["kind"] for h in again["history"]] == ["registered", "missed"]


async def _contact_of(seen: Subscriber, call_id: str) -> str:
    pop = await seen.wait_for("cti/agents/e-100/popup", call_id=call_id, type="popup")
    return str(pop.payload["contact_id"])


async def _contact(api: Api, contact_id: str, *, status: str | None = None) -> dict[str, Any]:
    """The contact as the API shows it, once it is in the store (and has `status`, if given)."""
    body: Any = None
    for _ in range(150):
        code, body = await api.get(f"/api/v1/contacts/{contact_id}")
        if code == 200 and (status is None or body["status"] == status):
            return dict(body)
        await asyncio.sleep(0.1)
    raise AssertionError(f"contact {contact_id} never showed {status or 'up'}: {body}")


async def _spool_reported(api: Api) -> tuple[int, int]:
    """The spool's depth as /healthz and /metrics report it."""
    async with api.http.get(api.url("/healthz")) as resp:
        health = await resp.json()
    async with api.http.get(api.url("/metrics")) as resp:
        text = await resp.text()
    gauge = next(line for line in text.splitlines() if line.startswith("cti_journal_spooled "))
    return int(health["journal_spool"]), int(float(gauge.split()[1]))


async def test_given_a_caller_name_with_a_nul_or_too_long_then_the_contact_is_still_registered(
    sim: Sim, broker: LocalBroker, postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL stores no NUL in text and no value longer than its column: what the PBX sends must not
    lose the caller's contact."""
    token = new_token()
    tokens = write_tokens(tmp_path, ("reception-console", token))
    async with Subscriber(broker.url, "cti/agents/e-100/popup") as seen:
        config = daemon_config(
            ami_port=sim.port, mqtt_url=broker.url, db_url=postgres_url, http={"tokens_file": str(tokens)}
        )
        async with running_api(config, token) as api:
            handle = await place_inbound(
                sim.pbx, InboundCall("89161234399", name="Iv\x00an", answer=False, ring_s=0.3)
            )
            contact = await _contact(api, await _contact_of(seen, handle.call_id))
            assert contact["caller"]["name"] == "Ivan"
            # A trunk that sends a display name and a "number" longer than the journal's columns.
            long_name, long_number = "Ы" * 300, "sip:" + "9" * 90
            handle = await place_inbound(
                sim.pbx, InboundCall(long_number, name=long_name, answer=False, ring_s=0.3)
            )
            contact = await _contact(api, await _contact_of(seen, handle.call_id))
            assert (contact["caller"]["name"], contact["caller"]["phone"]) == (
                long_name[:200],
                long_number[:64],
            )
