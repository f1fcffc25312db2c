"""Outbound calls in the journal (issue 14, item 3): a click to dial registers an outbound contact
(direction `outbound`, the employee responsible, linked to the contact it answers when the request names
one), and its outcome comes from the PBX: the Dial from the originated channel to the number ends
ANSWER (reached), BUSY (busy), NOANSWER or CANCEL (no_answer), anything else (failed); a call that ends
before that Dial ended (the employee never picked up, the number could not be dialled) is failed, or what
its hang-up cause says (17 busy, 18/19 no answer). A reached number closes its open missed calls as
called back, and the contact it answers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from cti_daemon import logs
from cti_daemon.ami.call_events import CallEnded, CallEvent
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.crm import call_facts_store as facts_store
from cti_daemon.crm.journal_store import ContactRecord, EventRecord, JournalStore
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.store import Store, StoreError
from cti_daemon.ids import uuid7
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.call_facts import CallFacts
from cti_daemon.routing.call_ledger import CallSummary
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.journal_writer import JournalWriter

log = logs.get("cti.routing.outbound")

DIAL_OUTCOME = {"ANSWER": "reached", "BUSY": "busy", "NOANSWER": "no_answer", "CANCEL": "no_answer"}
CAUSE_OUTCOME = {17: "busy", 18: "no_answer", 19: "no_answer"}


def outcome_of(dial_status: str | None, cause: int) -> str:
    if dial_status is not None:
        return DIAL_OUTCOME.get(dial_status, "failed")
    return CAUSE_OUTCOME.get(cause, "failed")


@dataclass(slots=True)
class _Out:
    contact_id: str
    number: str
    employee_id: str | None
    answers: str | None
    started_at: datetime
    dial_at: datetime | None = None
    dial_status: str | None = None
    answered_at: datetime | None = None


class OutboundContacts:
    def __init__(
        self,
        *,
        store: Store,
        journal: JournalStore,
        writer: JournalWriter,
        facts: CallFacts,
        rules: NumberRules,
        out: AgentPort,
        clock: Callable[[], datetime],
        node_id: str,
    ) -> None:
        self._store = store
        self._journal = journal
        self._writer = writer
        self._facts = facts
        self._rules = rules
        self._out = out
        self._clock = clock
        self._node = node_id
        self._open: dict[str, _Out] = {}
        facts.outbound = self._owned

    async def answered_contact(self, contact_id: str) -> ContactRecord | None:
        return await self._journal.get(contact_id)

    async def register(
        self,
        *,
        call_id: str,
        to_number: str,
        employee_id: str | None,
        answers: ContactRecord | None,
        actor: str,
    ) -> ContactRecord:
        now = self._clock()
        record = ContactRecord(
            id=uuid7(),
            type="call",
            status="in_progress",
            created_at=now,
            created_by=actor,
            direction="outbound",
            purpose=answers.purpose if answers else None,
            customer_id=answers.customer_id if answers else None,
            caller_name=answers.caller_name if answers else None,
            caller_phone=to_number,
            caller_e164=self._rules.e164(to_number),
            responsible_employee_id=employee_id,
            call_id=call_id,
            node_id=self._node,
            answers_contact_id=answers.id if answers else None,
            updated_at=now,
            events=(
                EventRecord(
                    uuid7(),
                    now,
                    actor,
                    "registered",
                    {"via": "click_to_dial", "answers": answers.id if answers else None},
                ),
            ),
        )
        self._open[call_id] = _Out(record.id, to_number, employee_id, record.answers_contact_id, now)
        await self._writer.create(record)
        self._out.traffic(contact_id=record.id, contact=contact_json(record))
        log.info(
            "journal.outbound_registered",
            contact_id=record.id,
            call_id=call_id,
            answers=record.answers_contact_id,
        )
        return record

    def on_ami(self, msg: AmiMessage) -> None:
        """The Dial from the originated channel (its uniqueid is the call's id) to the number."""
        name = msg.get("Event")
        if name not in ("DialBegin", "DialEnd"):
            return
        call = self._open.get(msg.get("Uniqueid", ""))
        if call is None:
            return
        now = self._clock()
        if name == "DialBegin":
            call.dial_at = call.dial_at or now
        elif call.dial_status is None:
            call.dial_status = msg.get("DialStatus", "")
            if call.dial_status == "ANSWER":
                call.answered_at = now

    def observe(self, events: Iterable[CallEvent]) -> None:
        for event in events:
            if isinstance(event, CallEnded) and event.call_id in self._open:
                call = self._open.pop(event.call_id)
                self._facts.spawn(self._finish(event.call_id, call, event.cause))

    async def _owned(self, summary: CallSummary, contact_id: str) -> bool:
        """CallFacts' hook: an outbound call's contact is written here, not as an inbound call."""
        return summary.call_id in self._open or await self._is_outbound(contact_id)

    async def _is_outbound(self, contact_id: str) -> bool:
        record = await self._journal.get(contact_id)
        return record is not None and record.direction == "outbound"

    async def _finish(self, call_id: str, call: _Out, cause: int) -> None:
        ended = self._clock()
        outcome = outcome_of(call.dial_status, cause)
        values = {
            "outcome": outcome,
            "status": "finalized",
            "finalized_at": ended,
            "finalized_by": "pbx",
            "rang_at": call.dial_at,
            "answered_at": call.answered_at,
            "ended_at": ended,
            "answered_by": call.employee_id if call.answered_at else None,
            "answer_s": _seconds(call.dial_at, call.answered_at),
            "talk_s": _seconds(call.answered_at, ended),
        }
        try:
            await self._writer.settle(call.contact_id)
            await facts_store.write_facts(self._store, call.contact_id, values)
            if outcome == "reached" and call.answered_at is not None:
                await self._facts.close(call.number, call.answered_at, "callback", call.contact_id)
                if call.answers is not None:
                    await facts_store.close_contact(
                        self._store, call.answers, call.answered_at, call.contact_id
                    )
            record = await self._journal.get(call.contact_id)
        except StoreError as exc:
            log.warning("outbound.store_unavailable", call_id=call_id, reason=str(exc))
            return
        if record is not None:
            self._out.traffic(contact_id=record.id, contact=contact_json(record))
        log.info("journal.outbound_ended", contact_id=call.contact_id, call_id=call_id, outcome=outcome)


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else max(0, round((end - start).total_seconds()))
