"""The stream hub without sockets: who receives what, open pops, and a full queue cutting a page off."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from cti_daemon.ami.call_events import LineStatus, Party
from cti_daemon.crm.identify import Identification
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.outbound.topics import Topics
from cti_daemon.stream.audience import Viewer
from cti_daemon.stream.hub import StreamHub, Subscriber

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
E201 = Viewer("e-201", sees_all=False, extension="201", purposes=frozenset({"service"}))
E202 = Viewer("e-202", sees_all=False, extension="202", purposes=frozenset({"shop"}))
DESK = Viewer("e-100", sees_all=True, extension="100")


def _unknown(raw: str) -> Identification:
    return Identification(number=NumberRules("RU").classify(raw), reason="unknown")


def _pop(hub: StreamHub, employee: str, call_id: str = "c1") -> None:
    hub.popup(
        employee_id=employee,
        call_id=call_id,
        contact_id=None,
        at=AT,
        extension=employee[2:],
        party=Party("89161234567", "Ivan"),
        ident=_unknown("89161234567"),
    )


def _topics(sub: Subscriber) -> list[str]:
    return [json.loads(sub.queue.get_nowait())["topic"] for _ in range(sub.queue.qsize())]


def test_given_a_pop_for_e201_then_e202s_stream_never_carries_it_and_the_desk_sees_it() -> None:
    hub = StreamHub(Topics("cti"), "n1")
    mine, others, desk = hub.subscribe(E201), hub.subscribe(E202), hub.subscribe(DESK)
    _pop(hub, "e-201")
    hub.notify(employee_id="e-201", kind="assigned", contact_id="k1", text="for you", at=AT)
    hub.dismiss(employee_id="e-201", call_id="c1", reason="answered", at=AT)

    assert _topics(others) == []
    assert _topics(mine) == ["cti/agents/e-201/popup", "cti/agents/e-201/notify", "cti/agents/e-201/popup"]
    assert len(_topics(desk)) == 3


def test_given_a_pop_open_then_only_its_employee_finds_it_among_open_pops_until_dismissed() -> None:
    hub = StreamHub(Topics("cti"), "n1")
    _pop(hub, "e-201")
    assert [p["call_id"] for p in hub.open_pops(E201)] == ["c1"]
    assert hub.open_pops(E202) == []
    hub.dismiss(employee_id="e-201", call_id="c1", reason="ended", at=AT)
    assert hub.open_pops(E201) == []


def test_given_lines_and_presence_then_every_page_gets_them_and_the_hub_keeps_the_last() -> None:
    hub = StreamHub(Topics("cti"), "n1")
    sub = hub.subscribe(E202)
    hub.line(extension="201", status=LineStatus.RINGING, employee_id="e-201", call_id="c1", since=AT)
    hub.line(extension="201", status=LineStatus.TALKING, employee_id="e-201", call_id="c1", since=AT)
    hub.presence(employee_id="e-201", status="busy", note="обед", client="online", since=AT)
    assert sub.queue.qsize() == 3
    assert [line["status"] for line in hub.retained("lines")] == ["talking"]
    assert hub.retained("presence")[0]["note"] == "обед"


def test_given_a_contact_given_to_someone_else_then_the_page_that_had_it_is_told_it_is_gone() -> None:
    hub = StreamHub(Topics("cti"), "n1")
    sub = hub.subscribe(E201)
    contact = {"v": 1, "id": "k1", "responsible_employee_id": "e-201", "purpose_group": None}
    hub.traffic(contact_id="k1", contact=contact)
    hub.traffic(contact_id="k1", contact={**contact, "responsible_employee_id": "e-202"})
    hub.traffic(contact_id="k1", contact={**contact, "responsible_employee_id": "e-203"})
    got = [json.loads(sub.queue.get_nowait())["payload"] for _ in range(sub.queue.qsize())]
    assert got[0]["responsible_employee_id"] == "e-201"
    assert got[1] == {"v": 1, "id": "k1", "gone": True}
    assert len(got) == 2


def test_given_a_contact_waiting_in_my_purposes_group_then_it_reaches_me_and_not_another_group() -> None:
    hub = StreamHub(Topics("cti"), "n1")
    mine, others = hub.subscribe(E201), hub.subscribe(E202)
    hub.traffic(
        contact_id="k2",
        contact={"v": 1, "id": "k2", "responsible_employee_id": None, "purpose_group": "service"},
    )
    assert mine.queue.qsize() == 1 and others.queue.qsize() == 0


def test_given_a_page_that_stops_reading_then_its_full_queue_cuts_it_off_and_nothing_more_is_kept() -> None:
    hub = StreamHub(Topics("cti"), "n1", queue_limit=8)
    slow, fine = hub.subscribe(DESK), hub.subscribe(DESK)
    for n in range(50):
        _pop(hub, "e-201", call_id=f"c{n}")
        while not fine.queue.empty():
            fine.queue.get_nowait()
    assert slow.cut_off.is_set() and not fine.cut_off.is_set()
    assert slow.high_water == 8 and slow.queue.qsize() == 8
    assert hub.cut_off_total == 1 and hub.connected == 1


async def test_given_a_contact_of_a_customer_not_named_yet_then_its_page_alone_gets_the_name_first() -> None:
    asked: list[str] = []

    async def name_of(customer_id: str) -> str | None:
        asked.append(customer_id)
        return "Наталья Сидорова"

    hub = StreamHub(Topics("cti"), "n1", name_of=name_of)
    mine, others = hub.subscribe(E201), hub.subscribe(E202)
    contact = {
        "v": 1,
        "id": "k3",
        "customer_id": "c-1",
        "responsible_employee_id": "e-201",
        "purpose_group": None,
    }
    hub.traffic(contact_id="k3", contact=contact)
    hub.traffic(contact_id="k3", contact={**contact, "version": 2})
    await asyncio.sleep(0.01)
    got = [json.loads(mine.queue.get_nowait()) for _ in range(mine.queue.qsize())]
    assert got[0] == {"topic": "customer_names", "payload": {"customers": {"c-1": "Наталья Сидорова"}}}
    assert [e["topic"] for e in got].count("cti/traffic/k3") == 2
    assert others.queue.qsize() == 0
    assert await hub.names({"c-1"}) == {"c-1": "Наталья Сидорова"} and asked.count("c-1") <= 2


def test_given_receptions_purpose_on_a_pop_when_the_caller_changes_then_the_open_pop_keeps_it() -> None:
    hub = StreamHub(Topics("cti"), "n1")
    reception = {
        "contact": {"purpose": {"code": "shop"}},
        "purpose": {"code": "shop", "sub": None, "auto": False},
    }
    hub.popup(
        employee_id="e-201",
        call_id="c1",
        contact_id="k1",
        at=AT,
        extension="201",
        party=Party("89161234567", ""),
        ident=_unknown("89161234567"),
        extra=reception,
    )
    hub.update(
        employee_id="e-201",
        call_id="c1",
        at=AT,
        party=Party("89160000000", "Oleg"),
        ident=_unknown("89160000000"),
    )
    [pop] = hub.open_pops(E201)
    assert pop["purpose"]["code"] == "shop" and pop["caller"]["name"] == "Oleg" and pop["type"] == "popup"
