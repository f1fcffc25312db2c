"""From call events to what agents see: the screen pop at ring time, its dismissal, line and call news.

Events of one call are handled strictly in order (a dismissal never overtakes the pop it dismisses), while
different calls never wait for each other: each call has its own chain, and an event whose call has
nothing pending is handled at once, without a task. A ring whose caller can be identified without waiting
(`identify_now`: no number, a cached card, an SQLite read on the loop) pops at once too: a task would
start a loop turn later, behind whatever else is ready (measured with bench/ring_to_pop.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol

from cti_daemon import logs
from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallerChanged,
    CallEvent,
    CallRinging,
    CallTransferred,
    LineChanged,
    LineStatus,
    Party,
    RingStopped,
)
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.crm.identify import Identification
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.ring_contacts import RingContact

log = logs.get("cti.routing.pop")

IdentifyFn = Callable[[str], Awaitable[Identification]]
IdentifyNowFn = Callable[[str], Identification | None]
Clock = Callable[[], datetime]


class CallContacts(Protocol):
    """The journal's side of a ring: the contact a pop carries, and the call's fate (answered, ended).
    Called in the call's own order, after its pop."""

    def on_ring(
        self, call_id: str, extension: str, party: Party, ident: Identification, rang_s: float | None = None
    ) -> RingContact | None: ...

    async def recall(self, call_id: str, rang_s: float) -> None:
        """Before the pop of a call adopted ringing: find the contact its ring already has."""

    def observe(self, events: Iterable[CallEvent]) -> None: ...


class ScreenPopService:
    def __init__(
        self,
        *,
        directory: LineDirectory,
        identify: IdentifyFn,
        out: AgentPort,
        clock: Clock,
        contacts: CallContacts | None = None,
        identify_now: IdentifyNowFn | None = None,
    ) -> None:
        self._directory = directory
        self._contacts = contacts
        self._identify = identify
        self._identify_now = identify_now
        self._out = out
        self._clock = clock
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._idents: dict[str, tuple[Party, Identification]] = {}
        self._live: set[tuple[str, str]] = set()  # (call_id, extension) with a pop that is still current
        # Each line's last published status and call, and since when: a change of its queue memberships
        # alone (a pause) republishes the line without restarting its `since`.
        self._line_since: dict[str, tuple[LineStatus, str | None, datetime]] = {}
        self.pops_published = 0

    def submit(self, events: Iterable[CallEvent]) -> None:
        for event in events:
            if isinstance(event, LineChanged):
                self._line(event)
                continue
            call_id = event.call_id
            previous = self._chains.get(call_id)
            if previous is None and not _waits(event):
                self._apply(event)  # nothing to wait for and no I/O: handled now
                continue
            if previous is None and isinstance(event, CallRinging) and self._ring_now(event):
                continue
            task = asyncio.get_running_loop().create_task(self._after(previous, event))
            self._chains[call_id] = task
            task.add_done_callback(functools.partial(self._chain_done, call_id))

    async def settled(self, call_id: str) -> None:
        """Wait until every event submitted for this call has been handled (its ring's contact is then
        registered). Not `idle`: under steady load some call always has events in hand."""
        while (task := self._chains.get(call_id)) is not None and not task.done():
            await asyncio.gather(task, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every submitted event has been handled (tests and shutdown)."""
        while self._chains:
            await asyncio.gather(*list(self._chains.values()), return_exceptions=True)

    # --- internals -----------------------------------------------------------------------------------
    def _chain_done(self, call_id: str, task: asyncio.Task[None]) -> None:
        if self._chains.get(call_id) is task:
            del self._chains[call_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("pop.handler_failed", call_id=call_id, error=repr(task.exception()))

    async def _after(self, previous: asyncio.Task[None] | None, event: CallEvent) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        if isinstance(event, CallRinging):
            await self._ringing(event)
        elif isinstance(event, CallerChanged):
            await self._caller_changed(event)
        else:
            if isinstance(event, CallAnswered) and event.adopted and self._contacts is not None:
                # Answered before a restart: its contact (if its ring registered one) is the call's again.
                await self._contacts.recall(event.call_id, 0.0)
            self._apply(event)

    def _known(self, call_id: str, party: Party) -> Identification | None:
        """This call's caller as already identified (a ring group rings several phones for one caller)."""
        known = self._idents.get(call_id)
        return known[1] if known is not None and known[0].number == party.number else None

    async def _identified(self, call_id: str, party: Party) -> Identification:
        ident = self._known(call_id, party)
        if ident is None:
            ident = await self._identify(party.number)
            self._idents[call_id] = (party, ident)
        return ident

    def _ring_now(self, event: CallRinging) -> bool:
        """Pop now if the caller is known without waiting; False: the chain's task must do it. An adopted
        ring waits for the journal (recall): its contact may be there from before a restart."""
        if self._identify_now is None or event.rang_s is not None:
            return False
        try:
            ident = self._known(event.call_id, event.caller)
            if ident is None:
                ident = self._identify_now(event.caller.number)
                if ident is None:
                    return False
                self._idents[event.call_id] = (event.caller, ident)
            self._pop(event, ident)
        except Exception as exc:  # one bad ring must not end the AMI reader that called us
            log.exception("pop.handler_failed", call_id=event.call_id, error=repr(exc))
        return True

    async def _ringing(self, event: CallRinging) -> None:
        if event.rang_s is not None and self._contacts is not None:
            await self._contacts.recall(event.call_id, event.rang_s)
        self._pop(event, await self._identified(event.call_id, event.caller))

    def _pop(self, event: CallRinging, ident: Identification) -> None:
        now = self._clock()
        employee_id = self._directory.employee_at(event.extension)
        key = (event.call_id, event.extension)
        self._live.add(key)
        contact = (
            self._contacts.on_ring(event.call_id, event.extension, event.caller, ident, event.rang_s)
            if self._contacts and not event.outbound  # an employee placing a call is no inbound contact
            else None
        )
        extra = contact.extra if contact is not None else None
        if event.outbound:
            extra = {"direction": "outbound"}
        if extra is not None and extra.get("contact", {}).get("purpose"):
            extra = {**extra, "purpose": extra["contact"]["purpose"]}  # reception's purpose beats the guess
        if employee_id is None:
            log.info("pop.no_employee", call_id=event.call_id, extension=event.extension)
        else:

            def still_ringing_or_talking() -> bool:
                return key in self._live

            self._out.popup(
                employee_id=employee_id,
                call_id=event.call_id,
                contact_id=contact.contact_id if contact is not None else None,
                at=now,
                extension=event.extension,
                party=event.caller,
                ident=ident,
                still_relevant=still_ringing_or_talking,
                extra=extra,
            )
            self.pops_published += 1
            log.info(
                "pop.sent",
                call_id=event.call_id,
                extension=event.extension,
                employee_id=employee_id,
                identified=ident.identified,
                customer_id=ident.customer.id if ident.customer else None,
            )
        if event.outbound:
            return  # the employee's own phone rings to place the call: the call rings nobody yet
        self._out.call_event(
            event="ringing",
            call_id=event.call_id,
            party=event.caller,
            extension=event.extension,
            at=now,
            employee_id=employee_id,
            contact_id=contact.contact_id if contact is not None else None,
        )

    async def _caller_changed(self, event: CallerChanged) -> None:
        ident = await self._identified(event.call_id, event.caller)
        now = self._clock()
        for ext in event.extensions:
            employee_id = self._directory.employee_at(ext)
            if employee_id is not None and (event.call_id, ext) in self._live:
                self._out.update(
                    employee_id=employee_id, call_id=event.call_id, at=now, party=event.caller, ident=ident
                )

    def _apply(self, event: CallEvent) -> None:
        now = self._clock()
        if self._contacts is not None and isinstance(event, CallAnswered | CallEnded):
            self._contacts.observe([event])
        if isinstance(event, RingStopped):
            self._dismiss(event.call_id, event.extension, event.reason, now)
        elif isinstance(event, CallAnswered):
            self._out.call_event(
                event="answered",
                call_id=event.call_id,
                party=event.caller,
                extension=event.extension,
                at=now,
                employee_id=self._directory.employee_at(event.extension),
            )
        elif isinstance(event, CallTransferred):
            self._out.call_event(
                event="transferred",
                call_id=event.call_id,
                party=None,
                extension=event.to_extension,
                at=now,
                mode=event.mode,
                from_extension=event.from_extension,
            )
        elif isinstance(event, CallEnded):
            for key in [k for k in self._live if k[0] == event.call_id]:
                self._live.discard(key)
            self._idents.pop(event.call_id, None)
            self._out.call_event(
                event="ended",
                call_id=event.call_id,
                party=event.caller,
                extension=event.extension,
                at=now,
                employee_id=self._directory.employee_at(event.extension) if event.extension else None,
                cause=event.cause,
                cause_text=event.cause_text,
            )

    def _dismiss(self, call_id: str, extension: str, reason: str, now: datetime) -> None:
        key = (call_id, extension)
        if key not in self._live:
            return
        self._live.discard(key)
        employee_id = self._directory.employee_at(extension)
        if employee_id is not None:
            self._out.dismiss(employee_id=employee_id, call_id=call_id, reason=reason, at=now)

    def _line(self, event: LineChanged) -> None:
        last = self._line_since.get(event.extension)
        if last is not None and last[:2] == (event.status, event.call_id):
            since = last[2]
        else:
            since = self._clock()
            self._line_since[event.extension] = (event.status, event.call_id, since)
        self._out.line(
            extension=event.extension,
            status=event.status,
            employee_id=self._directory.employee_at(event.extension),
            call_id=event.call_id,
            since=since,
            queues=event.queues,
        )


def _adopted(event: CallEvent) -> bool:
    return isinstance(event, CallAnswered) and event.adopted


def _waits(event: CallEvent) -> bool:
    """Handling it may wait (identification, the journal): it needs the call's chain."""
    return isinstance(event, CallRinging | CallerChanged) or _adopted(event)
