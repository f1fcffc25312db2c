"""TransferService on its own, wired as app.py wires it (the simulator over TCP, the real link and tracker):
what an observer (the journal) hears, in order and with whose doing it was."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import pytest

from cti_daemon.ami.call_events import CallEvent
from cti_daemon.ami.directory import LineDirectory, LineOwner
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.resync import Resync
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.config import AmiConfig, MqttConfig
from cti_daemon.demo.broker import LocalBroker
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.mqtt.outbound import AgentOutbound
from cti_daemon.outbound.topics import Topics
from cti_daemon.routing.call_actions import PbxNews
from cti_daemon.routing.notify_rules import ContactFacts
from cti_daemon.routing.transfer_book import Transfer, TransferBook
from cti_daemon.routing.transfers import TransferRequest, TransferService
from cti_daemon.secret import Secret
from cti_daemon.timefmt import utcnow
from tests.conftest import AMI_SECRET
from tests.support.calls import answered_at, until
from tests.support.mqtt import Subscriber


@dataclass
class Journal:
    """Records what it is told, as the contact journal will; `fail_first` makes its first write fail."""

    heard: list[tuple[str, str, str | None]] = field(default_factory=list)
    fail_first: bool = False

    async def transfer_changed(self, transfer: Transfer, actor: str | None) -> None:
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("the store is down")
        self.heard.append((transfer.id, str(transfer.status), actor))


@dataclass
class Wired:
    pbx: SimPbx
    tracker: CallTracker
    service: TransferService
    journal: Journal
    agents: Subscriber


async def _facts(call_id: str) -> ContactFacts | None:
    return ContactFacts(
        "0190-contact", "call", "service", None, "e-201", "Ivan Petrov", None, "brakes squeak"
    )


@contextlib.asynccontextmanager
async def _wired(*, fail_first: bool = False) -> AsyncIterator[Wired]:
    pbx = SimPbx()
    pbx.speed = 0.1
    directory = LineDirectory([LineOwner(f"e-{ext}", ext, (f"PJSIP/{ext}",)) for ext in ("100", "201")])
    tracker = CallTracker(directory)
    news = PbxNews()
    journal = Journal(fail_first=fail_first)
    box: list[TransferService] = []

    def submit(events: Iterable[CallEvent]) -> None:
        if box:
            box[0].observe(events)
            news.tick()

    def on_event(msg: AmiMessage) -> None:
        events = tracker.handle(msg)
        if events:
            submit(events)

    async with LocalBroker() as broker, AmiServer(pbx, secret=AMI_SECRET) as server:
        mqtt = MqttLink(
            MqttConfig(url=broker.url, node_id="t"), status_topic="cti/daemon/t/status", offline_payload={}
        )
        ami = AmiLink(
            AmiConfig(port=server.port, secret=Secret(AMI_SECRET), ping_interval_s=5.0),
            on_event=on_event,
            on_session=Resync(tracker, submit),  # as app.py: the lines' states after the login
        )
        service = TransferService(
            link=ami,
            views=tracker,
            directory=directory,
            book=TransferBook(),
            out=AgentOutbound(mqtt, Topics("cti"), "t"),
            news=news,
            clock=utcnow,
            context="internal",
            confirm_s=2.0,
            observer=journal,
            contact_facts=_facts,
        )
        box.append(service)
        async with Subscriber(broker.url, "cti/agents/+/notify") as agents, mqtt, ami:
            await ami.wait_connected(5)
            await until(lambda: tracker.line_view("201") is not None, what="lines known")
            yield Wired(pbx, tracker, service, journal, agents)
            await service.close()
        pbx.cancel_flows()


@pytest.fixture
async def wired() -> AsyncIterator[Wired]:
    async with _wired() as running:
        yield running


async def test_given_a_blind_transfer_then_the_journal_hears_each_status_in_order_with_whose_doing(
    wired: Wired,
) -> None:
    wired.pbx.endpoints["201"].answer_after_s = None
    call = await answered_at(wired.pbx, wired.tracker)
    transfer = await wired.service.start(TransferRequest(call.call_id, "e-201", None), "reception-console")
    assert wired.pbx.pick_up("201")
    await until(lambda: len(wired.journal.heard) == 3, what="three changes recorded")
    assert wired.journal.heard == [
        (transfer.id, "starting", "reception-console"),
        (transfer.id, "ringback", None),  # the PBX reported it
        (transfer.id, "completed", None),
    ]


async def test_given_contact_facts_for_the_call_then_the_notify_carries_the_contact_and_its_description(
    wired: Wired,
) -> None:
    wired.pbx.endpoints["201"].answer_after_s = None
    call = await answered_at(wired.pbx, wired.tracker)
    await wired.service.start(TransferRequest(call.call_id, None, "201"), "reception-console")
    notice = await wired.agents.wait_for("cti/agents/e-201/notify", kind="transfer")
    assert notice.payload["contact_id"] == "0190-contact"
    assert notice.payload["text"] == (
        "Call put through to you from 100: call from Ivan Petrov — service: brakes squeak"
    )


async def test_given_an_attended_transfer_cancelled_then_the_abandonment_is_the_cancellers_doing() -> None:
    async with _wired() as w:
        w.pbx.endpoints["201"].answer_after_s = None
        call = await answered_at(w.pbx, w.tracker)
        transfer = await w.service.start(
            TransferRequest(call.call_id, "e-201", None, "attended"), "reception-console"
        )
        await w.service.cancel(transfer.id, "supervisor")
        await until(lambda: len(w.journal.heard) == 3, what="three changes recorded")
        assert w.journal.heard[-1] == (transfer.id, "abandoned", "supervisor")


async def test_given_the_journal_fails_once_then_later_changes_still_reach_it_and_a_log_line_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with _wired(fail_first=True) as w:
        w.pbx.endpoints["201"].answer_after_s = None
        call = await answered_at(w.pbx, w.tracker)
        transfer = await w.service.start(TransferRequest(call.call_id, "e-201", None), "reception-console")
        await until(lambda: len(w.journal.heard) == 1, what="the ringback recorded")
        assert w.journal.heard == [(transfer.id, "ringback", None)]
    assert "transfer.report_failed" in capsys.readouterr().err
