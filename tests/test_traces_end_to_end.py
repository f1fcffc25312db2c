"""Recorded traffic through the whole daemon (link, tracker, pops, a real mosquitto) to the agents:
ring groups and queues pop at every ringing employee and dismiss the others on answer; after a transfer
the target's pop shows the original caller."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from cti_daemon.app import Daemon
from cti_daemon.crm.models import Employee
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker
from tests.conftest import daemon_config
from tests.support.mqtt import Received, Subscriber
from tests.support.replay import ReplayServer
from tests.support.traces import trace_bytes

# The cacofonisk phones belong to the seeded employees' lines, besides their PJSIP phones: one line, one
# pop, however many devices.
DEVICES = {
    "e-201": "PJSIP/201 SIP/150010001",
    "e-202": "PJSIP/202 SIP/150010002",
    "e-203": "PJSIP/203 SIP/150010003",
}


@pytest.fixture
async def store_with_sip_phones(seeded_sqlite: tuple[str, SeedSummary]) -> str:
    db_url, _ = seeded_sqlite
    store = open_store(db_url)
    try:
        async with store.session() as session:
            for employee_id, devices in DEVICES.items():
                await session.execute(
                    update(Employee).where(Employee.id == employee_id).values(devices=devices)
                )
            await session.commit()
    finally:
        await store.dispose()
    return db_url


@contextlib.asynccontextmanager
async def _replayed(trace: str, broker: LocalBroker, db_url: str) -> AsyncIterator[Subscriber]:
    # Paced: a recording's 20 s in about half a second, not in one loop turn (a pop whose call already
    # ended when the MQTT pump gets to it is dropped as stale, rightly).
    async with ReplayServer(trace_bytes(trace), chunk=997, gap_s=0.01, hold=True) as replay:
        config = daemon_config(ami_port=replay.port, mqtt_url=broker.url, db_url=db_url)
        async with Subscriber(broker.url, "cti/#") as agents, Daemon(config) as daemon:
            await daemon.wait_ready()  # the call starts once the daemon is up, as calls do
            replay.go.set()
            yield agents


def _pops(agents: Subscriber, kind: str) -> dict[str, list[Received]]:
    out: dict[str, list[Received]] = {}
    for m in agents.messages:
        if m.topic.startswith("cti/agents/") and m.topic.endswith("/popup") and m.payload.get("type") == kind:
            out.setdefault(m.topic.split("/")[2], []).append(m)
    return out


async def test_given_a_ring_group_then_both_ringing_employees_pop_and_the_one_who_lost_is_dismissed(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "195176c06ab8-1529936598.168"
    async with _replayed("cacofonisk/simple__ab_callgroup", broker, store_with_sip_phones) as agents:
        await agents.wait_for(f"cti/calls/{call_id}", event="ended")
        dismiss = await agents.wait_for("cti/agents/e-203/popup", type="dismiss")
        assert dismiss.payload == {**dismiss.payload, "call_id": call_id, "reason": "answered_elsewhere"}
        pops = _pops(agents, "popup")
        assert sorted(pops) == ["e-202", "e-203"]  # one pop each, though each line has two devices
        for (received,) in pops.values():
            assert (
                received.payload["caller"]["raw"] == "201"
                and received.payload["caller"]["name"] == "Andrew Garza"
            )
            assert received.payload["reason"] == "internal extension"
        assert "e-202" not in _pops(agents, "dismiss")  # the one who answered keeps the card
        answered = await agents.wait_for(f"cti/calls/{call_id}", event="answered")
        assert answered.payload["extension"] == "202"


async def test_given_a_queue_then_the_member_who_rings_pops_and_the_busy_one_gets_nothing(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "195176c06ab8-1529939196.518"
    async with _replayed("cacofonisk/queue__queue_simple", broker, store_with_sip_phones) as agents:
        await agents.wait_for(f"cti/calls/{call_id}", event="ended")
        pop = await agents.wait_for("cti/agents/e-202/popup", type="popup")
        assert pop.payload["caller"] == {**pop.payload["caller"], "raw": "+31150010001"}
        assert pop.payload["call_id"] == call_id and pop.payload["extension"] == "202"
        assert sorted(_pops(agents, "popup")) == [
            "e-202"
        ]  # SIP/150010003 was dialled but busy: it never rang
        assert not _pops(agents, "dismiss")
        await agents.wait_for("cti/lines/202", status="talking", call_id=call_id)


async def test_given_an_attended_transfer_from_reception_then_201s_pop_shows_the_caller_and_100_is_dismissed(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "1795423981.11"
    async with _replayed("asterisk-22/e_atxfer", broker, store_with_sip_phones) as agents:
        transferred = await agents.wait_for(f"cti/calls/{call_id}", event="transferred")
        assert transferred.payload["mode"] == "attended" and transferred.payload["extension"] == "201"
        assert transferred.payload["from_extension"] == "100"
        pop = await agents.wait_for("cti/agents/e-201/popup", type="popup")
        assert (
            pop.payload["caller"]["raw"] == "+79161234567" and pop.payload["caller"]["name"] == "Ivan Petrov"
        )
        dismiss = await agents.wait_for("cti/agents/e-100/popup", type="dismiss")
        assert dismiss.payload["reason"] == "transferred" and dismiss.payload["call_id"] == call_id


async def test_given_a_phone_made_attended_transfer_then_the_targets_pop_is_updated_to_the_real_caller(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    consult = "195176c06ab8-1529941342.690"
    async with _replayed("cacofonisk/xfer_attended__xfer_abbcac", broker, store_with_sip_phones) as agents:
        pop = await agents.wait_for("cti/agents/e-203/popup", type="popup", call_id=consult)
        assert pop.payload["caller"]["raw"] == "202"  # B consults C: C first sees B
        update_ = await agents.wait_for("cti/agents/e-203/popup", type="update", call_id=consult)
        assert (
            update_.payload["caller"]["raw"] == "201" and update_.payload["caller"]["name"] == "Andrew Garza"
        )
        dismiss = await agents.wait_for("cti/agents/e-202/popup", type="dismiss")
        assert dismiss.payload["reason"] == "transferred"


async def test_given_a_blind_transfer_then_201s_pop_shows_the_original_caller(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    async with _replayed("asterisk-22/d2_blindtransfer", broker, store_with_sip_phones) as agents:
        pop = await agents.wait_for("cti/agents/e-201/popup", type="popup")
        assert (
            pop.payload["caller"]["raw"] == "+79161234567" and pop.payload["caller"]["name"] == "Ivan Petrov"
        )
        transferred = await agents.wait_for("cti/calls/1795423965.8", event="transferred")
        assert transferred.payload["mode"] == "blind"


async def test_given_201_picks_up_the_call_ringing_at_100_then_201_answers_with_the_callers_card(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "1796606368.0"
    async with _replayed("asterisk-22-batch3/directed_pickup", broker, store_with_sip_phones) as agents:
        ended = await agents.wait_for(f"cti/calls/{call_id}", event="ended")
        answered = await agents.wait_for(f"cti/calls/{call_id}", event="answered")
        assert answered.payload["extension"] == "201" and answered.payload["employee_id"] == "e-201"
        pop = await agents.wait_for("cti/agents/e-201/popup", type="popup")
        assert pop.payload["call_id"] == call_id and pop.payload["caller"]["raw"] == "+79161234567"
        rung = await agents.wait_for("cti/agents/e-100/popup", type="popup")
        for key in ("identified", "customer", "contact_id"):  # the caller's card, as 100 had it
            assert pop.payload[key] == rung.payload[key], key
        dismiss = await agents.wait_for("cti/agents/e-100/popup", type="dismiss")
        assert dismiss.payload["reason"] == "answered_elsewhere" and dismiss.payload["call_id"] == call_id
        # The picker's own short call (dialling **100) is not a call that ended "merged into" another.
        assert not [m for m in agents.messages if m.topic == "cti/calls/1796606370.2"]
        # The end keeps the call's parties.
        assert ended.payload["from"] == "+79161234567" and ended.payload["to"] == "201"


async def test_given_202_picks_up_with_star8_then_202_answers_and_100_is_dismissed(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "1796606385.3"
    async with _replayed("asterisk-22-batch3/group_pickup", broker, store_with_sip_phones) as agents:
        await agents.wait_for(f"cti/calls/{call_id}", event="ended")
        answered = await agents.wait_for(f"cti/calls/{call_id}", event="answered")
        assert answered.payload["extension"] == "202"
        pop = await agents.wait_for("cti/agents/e-202/popup", type="popup")
        assert pop.payload["caller"]["raw"] == "+79161234567"
        dismiss = await agents.wait_for("cti/agents/e-100/popup", type="dismiss")
        assert dismiss.payload["reason"] == "answered_elsewhere"


async def test_given_the_caller_201_blind_transfers_202_to_203_then_203_sees_202_and_202_sees_203(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "1796606401.6"
    async with _replayed("asterisk-22-batch3/caller_side_blind", broker, store_with_sip_phones) as agents:
        ended = await agents.wait_for(f"cti/calls/{call_id}", event="ended")
        pop = await agents.wait_for("cti/agents/e-203/popup", type="popup")
        assert pop.payload["caller"]["raw"] == "202" and pop.payload["caller"]["name"] == "Staff 202"
        update_ = await agents.wait_for("cti/agents/e-202/popup", type="update", call_id=call_id)
        assert update_.payload["caller"]["raw"] == "203"
        assert ended.payload["from"] == "202" and ended.payload["to"] == "203"


async def test_given_the_caller_201_attended_transfers_202_to_203_then_both_pops_show_the_other(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "1796606419.9"
    async with _replayed("asterisk-22-batch3/caller_side_attended", broker, store_with_sip_phones) as agents:
        await agents.wait_for(f"cti/calls/{call_id}", event="ended")
        to_203 = await agents.wait_for("cti/agents/e-203/popup", type="update", call_id=call_id)
        assert to_203.payload["caller"]["raw"] == "202"
        to_202 = await agents.wait_for("cti/agents/e-202/popup", type="update", call_id=call_id)
        assert to_202.payload["caller"]["raw"] == "203"


async def test_given_100_hangs_up_while_201_still_rings_then_the_transfer_names_201(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "1796606463.19"
    async with _replayed("asterisk-22-batch3/blonde_transfer", broker, store_with_sip_phones) as agents:
        transferred = await agents.wait_for(f"cti/calls/{call_id}", event="transferred")
        assert transferred.payload["mode"] == "attended"
        assert transferred.payload["to"] == "201" and transferred.payload["extension"] == "201"


async def test_given_an_attended_transfer_cancelled_then_the_consulted_201_is_dismissed(
    broker: LocalBroker, store_with_sip_phones: str
) -> None:
    call_id = "1796606441.14"
    async with _replayed("asterisk-22-batch3/attended_cancel", broker, store_with_sip_phones) as agents:
        dismiss = await agents.wait_for("cti/agents/e-201/popup", type="dismiss")
        assert dismiss.payload["reason"] == "transfer_cancelled" and dismiss.payload["call_id"] == call_id
        ended = await agents.wait_for(f"cti/calls/{call_id}", event="ended")
        assert ended.payload["to"] == "100" and ended.payload["employee_id"] == "e-100"
        assert "e-100" not in _pops(agents, "dismiss")
