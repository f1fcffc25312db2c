"""Every missed call, and the times of every call's contact (issue 14, items 2 and 3).

When a call ends, its facts (routing/call_ledger.py) are written on its contact: outcome, rang, answered
and ended times, who answered. A call with no contact that rang an employee, or whose caller gave up in
a queue, becomes a missed contact with its reason and wait. An answered call closes the open missed calls
of its caller's number (the callback list's entry); a click-to-dial that reaches the number closes them
as called back (routing/outbound_contacts.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from cti_daemon import logs
from cti_daemon.ami.call_events import CallEvent
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.crm import call_facts_store as facts_store
from cti_daemon.crm.call_facts_store import Closing
from cti_daemon.crm.identify import Identification
from cti_daemon.crm.journal_store import (
    CALLER_NAME_MAX,
    CALLER_PHONE_MAX,
    ContactRecord,
    EventRecord,
    JournalStore,
)
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.store import Store, StoreError
from cti_daemon.ids import uuid7
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.call_ledger import CallLedger, CallSummary
from cti_daemon.routing.caller_identity import NOBODY, caller_identity
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.facts_writer import FactsWriter
from cti_daemon.routing.journal_writer import JournalWriter
from cti_daemon.routing.ring_contacts import RingContacts

log = logs.get("cti.routing.call_facts")

ACTOR = "pbx"
# Outbound calls are summarised by routing/outbound_contacts.py: it knows the outcome the PBX gave.
OutboundHook = Callable[[CallSummary, str], Awaitable[bool]]


class CallFacts:
    def __init__(
        self,
        *,
        store: Store,
        journal: JournalStore,
        writer: JournalWriter,
        ring: RingContacts,
        directory: LineDirectory,
        rules: NumberRules,
        out: AgentPort,
        clock: Callable[[], datetime],
        node_id: str,
        settled: Callable[[str], Awaitable[None]],
        identify: Callable[[str], Awaitable[Identification]],
    ) -> None:
        self._store = store
        self._journal = journal
        self._writer = writer
        self._ring = ring
        self._directory = directory
        self._rules = rules
        self._out = out
        self._clock = clock
        self._node = node_id
        self._settled = settled  # until the call's pops (and the contact its ring registers) are handled
        self._identify = identify  # the identifier's cache answers for a caller whose ring was just popped
        self.ledger = CallLedger()
        self._facts = FactsWriter(store, journal)
        self.outbound: OutboundHook | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the PBX's news (on the event path: nothing here waits) --------------------------------------
    def observe(self, events: Iterable[CallEvent]) -> None:
        for summary in self.ledger.observe(events, self._clock()):
            known = self._ring.for_call(summary.call_id)
            self.spawn(self._finish(summary, known.id if known else None))

    def on_ami(self, msg: AmiMessage) -> None:
        """app_queue's caller events (QueueCallerJoin, QueueCallerAbandon); the rest is the tracker's."""
        name = msg.get("Event")
        if name not in ("QueueCallerJoin", "QueueCallerAbandon"):
            return
        call_id = msg.get("Linkedid") or msg.get("Uniqueid", "")
        queue = msg.get("Queue", "")
        if not call_id:
            return
        if name == "QueueCallerJoin":
            number, who = msg.get("CallerIDNum", ""), msg.get("CallerIDName", "")
            self.ledger.queue_joined(call_id, queue, number, "" if who == "<unknown>" else who, self._clock())
        else:
            self.ledger.queue_abandoned(call_id, queue, self._clock())

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- writing -------------------------------------------------------------------------------------
    async def _finish(self, summary: CallSummary, known_id: str | None) -> None:
        try:
            await self._settled(summary.call_id)
            # Asked again once the pops are handled: a ring still being identified when the call ended
            # registered its contact only then; its write may still be under way (the store slow or
            # away: neither in the store nor yet in the spool), or it waits in the spool.
            contact_id = (
                known_id
                or self._ring.contact_of_call(summary.call_id)
                or self._writer.waiting_contact_of_call(summary.call_id)
                or await facts_store.contact_of_call(self._store, summary.call_id)
            )
            if contact_id is not None:
                await self._writer.settle(contact_id)
                # A contact the ring registered is an inbound call's: only others may be click to dial's.
                rang = known_id is not None or self._ring.contact_of_call(summary.call_id) is not None
                if not rang and self.outbound is not None and await self.outbound(summary, contact_id):
                    return
                await self._write(contact_id, summary, closing=self._closing(summary, contact_id))
            elif self._directory.is_extension(summary.number):
                return  # a colleague's call: not the journal's (nor a callback to make)
            elif not summary.answered and (summary.abandoned or self._employees(summary)):
                await self._register_missed(summary)
            elif (closing := self._closing(summary, None)) is not None:
                self._closed((await self._facts.write(None, {}, closing)).closed, closing)
        except StoreError as exc:
            log.warning("call_facts.store_unavailable", call_id=summary.call_id, reason=str(exc))

    def _closing(self, summary: CallSummary, contact_id: str | None) -> Closing | None:
        """An answered caller's open missed calls close (the callback list's entry)."""
        e164 = self._rules.e164(summary.number) if summary.answered and summary.number else None
        if not e164:
            return None
        return Closing(e164, summary.answered_at or summary.ended_at, "answered", contact_id)

    @staticmethod
    def _closed(closed: list[str], closing: Closing) -> None:
        if closed:
            log.info(
                "callbacks.closed",
                number=closing.e164,
                kind=closing.kind,
                contacts=len(closed),
                by=closing.by_contact_id,
            )

    async def close(self, number: str, at: datetime, kind: str, by_contact_id: str | None) -> None:
        e164 = self._rules.e164(number) if number else None
        if not e164:
            return
        closed = await facts_store.close_callbacks(self._store, e164, at, kind, by_contact_id)
        if closed:
            log.info("callbacks.closed", number=e164, kind=kind, contacts=len(closed), by=by_contact_id)

    def facts_of(self, summary: CallSummary, outcome: str | None = None) -> dict[str, Any]:
        answered_by = None
        if summary.answered_ext is not None:
            answered_by = self._directory.employee_at(summary.answered_ext) or summary.answered_ext
        return {
            "outcome": outcome or summary.outcome,
            "rang_at": summary.rang_at,
            "answered_at": summary.answered_at,
            "ended_at": summary.ended_at,
            "answered_by": answered_by,
            "answer_s": summary.answer_s,
            "talk_s": summary.talk_s,
            "wait_s": summary.wait_s,
        }

    async def _write(
        self,
        contact_id: str,
        summary: CallSummary,
        outcome: str | None = None,
        closing: Closing | None = None,
    ) -> None:
        written = await self._facts.write(contact_id, self.facts_of(summary, outcome), closing)
        if closing is not None:
            self._closed(written.closed, closing)
        if written.record is None:
            return  # not in the store (waiting in the spool, or gone)
        self._out.traffic(contact_id=contact_id, contact=contact_json(written.record))
        log.info(
            "call_facts.written", contact_id=contact_id, call_id=summary.call_id, outcome=summary.outcome
        )

    def _employees(self, summary: CallSummary) -> list[str]:
        found = (self._directory.employee_at(ext) for ext in summary.rang)
        return [e for e in found if e is not None]

    async def _register_missed(self, summary: CallSummary) -> str:
        employees = self._employees(summary)
        waited = summary.wait_s or 0
        # The code and its figures let the pages say the reason in the reader's language.
        said: dict[str, Any] = {"cause": summary.cause, "waited_s": waited}
        if summary.abandoned:
            reason = f"the caller gave up waiting in queue {summary.queue} after {waited} s"
            said |= {"code": "abandoned", "queue": summary.queue}
        else:
            reason = f"nobody answered at {', '.join(summary.rang)}; the caller hung up after {waited} s"
            said |= {"code": "unanswered", "extensions": list(summary.rang)}
        at = summary.rang_at or summary.ended_at
        # Said like a ring at reception. Identification must not cost the missed call itself: a store that
        # fails here leaves it unidentified (the number is kept) and the write goes on (to the spool).
        try:
            who = caller_identity(await self._identify(summary.number))
        except (StoreError, TimeoutError) as exc:
            log.warning("call_facts.unidentified", call_id=summary.call_id, reason=str(exc))
            who = NOBODY
        record = ContactRecord(
            id=uuid7(),
            type="call",
            status="missed",
            created_at=at,
            created_by=ACTOR,
            caller_name=summary.name[:CALLER_NAME_MAX] or None,
            caller_phone=summary.number[:CALLER_PHONE_MAX] or None,
            caller_e164=self._rules.e164(summary.number) if summary.number else None,
            responsible_employee_id=employees[0] if employees else None,
            call_id=summary.call_id,
            node_id=self._node,
            missed_reason=reason,
            updated_at=summary.ended_at,
            **self.facts_of(summary),
            **who.contact_fields,
            events=(
                EventRecord(
                    uuid7(),
                    at,
                    ACTOR,
                    "registered",
                    {"via": "missed_call", "rang": list(summary.rang)} | who.registered_data,
                ),
                EventRecord(uuid7(), summary.ended_at, ACTOR, "missed", {"reason": reason, **said}),
            ),
        )
        await self._writer.create(record)
        self._out.traffic(contact_id=record.id, contact=contact_json(record))
        log.info(
            "journal.missed_call",
            contact_id=record.id,
            call_id=summary.call_id,
            outcome=summary.outcome,
            waited_s=waited,
            employee_id=record.responsible_employee_id,
            customer_id=record.customer_id,
        )
        return record.id
