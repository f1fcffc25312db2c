"""Contacts of calls: registered the moment a call rings reception, carried by the pop at whoever the
call reaches next, marked missed when the caller hangs up before anyone answered.

The ring path never waits for the store: the contact's id is made here (UUIDv7), the pop leaves with it,
and the write happens behind (to the spool if the store is away). The one exception is a call adopted
ringing after a (re)connect (`recall`): its ring may have registered a contact before the daemon restarted,
and one call has one contact (adopted_calls.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cti_daemon import logs
from cti_daemon.ami.call_events import CallAnswered, CallEnded, CallEvent, Party
from cti_daemon.crm.identify import Identification
from cti_daemon.crm.journal_store import CALLER_NAME_MAX, CALLER_PHONE_MAX, ContactRecord, EventRecord
from cti_daemon.ids import uuid7
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.adopted_calls import adopt
from cti_daemon.routing.caller_identity import caller_identity
from cti_daemon.routing.contact_json import contact_json, pop_contact
from cti_daemon.routing.journal_writer import JournalWriter

log = logs.get("cti.routing.ring_contacts")

ACTOR = "pbx"  # who registered a contact that a ring created
ENDED_KEPT = 10_000  # calls' contacts remembered after the call ended: minutes of calls at 50 calls/s


@dataclass(frozen=True, slots=True)
class RingContact:
    contact_id: str
    extra: dict[str, Any] | None  # what the pop adds: the contact as reception left it


@dataclass(slots=True)
class _Live:
    record: ContactRecord
    rang_at: datetime
    answered: bool = False


class RingContacts:
    def __init__(
        self,
        *,
        writer: JournalWriter,
        out: AgentPort,
        clock: Callable[[], datetime],
        node_id: str,
        reception: Iterable[str],
    ) -> None:
        self._writer = writer
        self._out = out
        self._clock = clock
        self._node = node_id
        self._reception = frozenset(reception)
        self._by_call: dict[str, _Live] = {}
        # Calls that ended lately, and their contact: call facts ask for it once the pops are handled,
        # which is after the end took the call out of _by_call (bounded: they ask within seconds).
        self._ended: OrderedDict[str, str] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def for_call(self, call_id: str) -> ContactRecord | None:
        live = self._by_call.get(call_id)
        return live.record if live else None

    def contact_of_call(self, call_id: str) -> str | None:
        """The id of the contact this call's ring registered, while it rings or talks and a while after."""
        live = self._by_call.get(call_id)
        return live.record.id if live is not None else self._ended.get(call_id)

    def remember(self, record: ContactRecord) -> None:
        """The journal tells us of every change to a contact, so pops carry what reception just wrote."""
        if record.call_id and record.call_id in self._by_call:
            self._by_call[record.call_id].record = record

    def adopt(self, record: ContactRecord) -> None:
        """A contact registered over HTTP for a call in progress (no ring at reception made one)."""
        if record.call_id and record.call_id not in self._by_call:
            self._by_call[record.call_id] = _Live(record, self._clock())

    async def recall(self, call_id: str, rang_s: float) -> None:
        """A call adopted ringing after a (re)connect: the contact its ring already registered, found in
        the store or the spool, becomes its contact again (its next pop carries it; a hang-up marks it
        missed, counted from the ring the channel tells)."""
        if call_id in self._by_call:
            return  # we watched it ring (the AMI link, not the daemon, went away)
        found = await self._writer.contacts_of_call(call_id)
        adoption = adopt(found, call_id=call_id, node_id=self._node, now=self._clock(), rang_s=rang_s)
        if adoption.contact is None or call_id in self._by_call:
            return
        self._by_call[call_id] = _Live(adoption.contact, adoption.rang_at)
        log.info(
            "journal.contact_readopted",
            contact_id=adoption.contact.id,
            call_id=call_id,
            status=adoption.contact.status,
            rang_s=rang_s,
        )

    def on_ring(
        self, call_id: str, extension: str, party: Party, ident: Identification, rang_s: float | None = None
    ) -> RingContact | None:
        """`rang_s`: how long an adopted call had rung already (None: it rings now)."""
        live = self._by_call.get(call_id)
        if live is not None:
            at_reception = extension in self._reception
            return RingContact(
                live.record.id, None if at_reception else {"contact": pop_contact(live.record)}
            )
        if extension not in self._reception:
            return None
        record = self._new(call_id, party, ident)
        rang_at = record.created_at - timedelta(seconds=rang_s or 0.0)
        self._by_call[call_id] = _Live(record, rang_at)
        # After the pop (which the caller of on_ring queues next): the agent's card comes first.
        loop = asyncio.get_running_loop()
        loop.call_soon(self._writer.create_soon, record)
        loop.call_soon(lambda: self._out.traffic(contact_id=record.id, contact=contact_json(record)))
        # The log line too: rendering it cost up to half a millisecond before the pop (bench/ring_to_pop.py).
        loop.call_soon(
            functools.partial(
                log.info,
                "journal.registered_from_ring",
                contact_id=record.id,
                call_id=call_id,
                extension=extension,
                customer_id=record.customer_id,
            )
        )
        return RingContact(record.id, None)

    def observe(self, events: Iterable[CallEvent]) -> None:
        for event in events:
            if isinstance(event, CallAnswered):
                live = self._by_call.get(event.call_id)
                if live is not None:
                    live.answered = True
            elif isinstance(event, CallEnded):
                live = self._by_call.pop(event.call_id, None)
                if live is not None:
                    self._ended[event.call_id] = live.record.id
                    while len(self._ended) > ENDED_KEPT:
                        self._ended.popitem(last=False)
                if live is not None and not live.answered:
                    task = asyncio.get_running_loop().create_task(self._missed(live, event))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _new(self, call_id: str, party: Party, ident: Identification) -> ContactRecord:
        now = self._clock()
        who = caller_identity(ident)
        return ContactRecord(
            id=uuid7(),
            type="call",
            status="registered",
            created_at=now,
            created_by=ACTOR,
            # What the PBX says is cut to the journal's columns: PostgreSQL refuses a longer value, and
            # the contact would be lost for a display name a trunk sent too long.
            caller_name=party.name[:CALLER_NAME_MAX] or None,
            caller_phone=party.number[:CALLER_PHONE_MAX] or None,
            caller_e164=ident.number.e164,
            call_id=call_id,
            node_id=self._node,
            events=(
                EventRecord(
                    uuid7(),
                    now,
                    ACTOR,
                    "registered",
                    {"via": "ring", "number": party.number} | who.registered_data,
                ),
            ),
            **who.contact_fields,
        )

    async def _missed(self, live: _Live, ended: CallEnded) -> None:
        """A call that rang reception and ended with nobody answering: a missed call to call back."""
        record = live.record
        await self._writer.settle(record.id)
        now = self._clock()
        waited = int((now - live.rang_at).total_seconds())
        reason = f"the caller hung up after {waited} s; nobody answered"
        # The code and its figures let the pages say the reason in the reader's language.
        said = {"reason": reason, "cause": ended.cause, "code": "hung_up", "waited_s": waited}
        event = EventRecord(uuid7(), now, ACTOR, "missed", said)
        updated = await self._writer.mark_missed(record.id, reason, event)
        if updated is None:
            return  # reception already did something with it, or the mark waits in the spool
        self._out.traffic(contact_id=updated.id, contact=contact_json(updated))
        log.info("journal.missed_call", contact_id=record.id, call_id=record.call_id, waited_s=waited)
