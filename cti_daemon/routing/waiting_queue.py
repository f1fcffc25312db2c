"""The waiting queue (seed 003): a visitor registered as waiting is brought back to reception's and the
responsible employee's (or the purpose group's) attention every `queue_reminder_s`, until somebody takes
the visit or it is marked missed. Counted from when the visit was queued, so a restart of the daemon
neither loses nor repeats a round of reminders beyond the one due."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from cti_daemon import logs
from cti_daemon.crm.journal_store import ContactRecord, Filters, JournalStore
from cti_daemon.crm.purposes import PurposeCatalog
from cti_daemon.crm.store import StoreError
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing import notify_rules
from cti_daemon.routing.journal import facts

log = logs.get("cti.routing.queue")


class WaitingQueue:
    def __init__(
        self,
        *,
        journal: JournalStore,
        catalog: Callable[[], PurposeCatalog],
        reception_staff: Callable[[], list[str]],
        out: AgentPort,
        clock: Callable[[], datetime],
        node_id: str,
        interval_s: float,
        customer_name: Callable[[ContactRecord], Awaitable[str | None]],
    ) -> None:
        self._journal = journal
        self._catalog = catalog
        self._reception = reception_staff
        self._out = out
        self._clock = clock
        self._node = node_id
        self._interval = interval_s
        self._name = customer_name
        self._rounds: dict[str, int] = {}  # contact id -> reminder rounds sent

    async def tick(self) -> int:
        """Send the reminders now due; how many notices went out."""
        waiting = await self._journal.query(
            Filters(status="open", queued=True, node_id=self._node, limit=500)
        )
        now = self._clock()
        sent = 0
        for record in waiting:
            assert record.queued_at is not None
            due = int((now - record.queued_at).total_seconds() // self._interval)
            if due <= self._rounds.get(record.id, 0):
                continue
            self._rounds[record.id] = due
            group = self._catalog().members(record.purpose_group or record.purpose)
            name = await self._name(record)
            minutes = int((now - record.queued_at).total_seconds() // 60)
            for notice in notify_rules.queue_reminders(
                facts(record, name), self._reception(), group, minutes
            ):
                self._out.notify(
                    employee_id=notice.employee_id,
                    kind=notice.kind,
                    contact_id=notice.contact_id,
                    text=notice.text,
                    at=now,
                    waiting_s=int((now - record.queued_at).total_seconds()),
                )
                sent += 1
        still = {r.id for r in waiting}
        self._rounds = {k: v for k, v in self._rounds.items() if k in still}
        return sent

    async def run(self) -> None:
        pause = max(0.2, min(self._interval / 4, 5.0))
        said = ""
        while True:
            try:
                sent = await self.tick()
            except (StoreError, DBAPIError, OSError) as exc:
                # The store away or its schema not created yet: say so once, keep trying.
                reason = str(exc).splitlines()[0]
                if reason != said:
                    log.warning("queue.store_unavailable", reason=reason)
                    said = reason
            else:
                said = ""
                if sent:
                    log.info("queue.reminded", notices=sent)
            await asyncio.sleep(pause)
