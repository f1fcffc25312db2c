"""Postponements come due (issue 14, item 1): at `until` the contact returns to whom it was postponed to
(or its group) with a `postponed_due` notify, and leaves `postponed`. The store is asked every
`due_check_s`; crm/due_claims.py takes each due contact in one statement, so one node sends it, once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from cti_daemon import logs
from cti_daemon.crm.due_claims import claim_due_postponements
from cti_daemon.crm.journal_store import ContactRecord, JournalStore
from cti_daemon.crm.purposes import PurposeCatalog
from cti_daemon.crm.store import Store, StoreError
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing import notify_rules
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.journal import facts
from cti_daemon.routing.ring_contacts import RingContacts

log = logs.get("cti.routing.due")


class DuePostponements:
    def __init__(
        self,
        *,
        store: Store,
        journal: JournalStore,
        catalog: Callable[[], PurposeCatalog],
        ring: RingContacts,
        out: AgentPort,
        clock: Callable[[], datetime],
        node_id: str,
        customer_name: Callable[[ContactRecord], Awaitable[str | None]],
    ) -> None:
        self._store = store
        self._journal = journal
        self._catalog = catalog
        self._ring = ring
        self._out = out
        self._clock = clock
        self._node = node_id
        self._name = customer_name

    async def tick(self) -> int:
        """Claim and announce the postponements now due; how many came due on this node."""
        now = self._clock()
        claimed = await claim_due_postponements(self._store, now, f"daemon:{self._node}")
        for contact_id in claimed:
            record = await self._journal.get(contact_id)
            if record is None:
                continue  # deleted meanwhile
            self._ring.remember(record)
            self._out.traffic(contact_id=record.id, contact=contact_json(record))
            members = self._catalog().members(record.purpose_group or record.purpose)
            about = facts(record, await self._name(record))
            for notice in notify_rules.postponed_due(about, members, record.postponed_reason):
                self._out.notify(
                    employee_id=notice.employee_id,
                    kind=notice.kind,
                    contact_id=notice.contact_id,
                    text=notice.text,
                    at=now,
                )
            log.info("postponement.due", contact_id=record.id, status=record.status, node_id=self._node)
        return len(claimed)


async def every(interval_s: float, tick: Callable[[], Awaitable[int]], what: str) -> None:
    """Run `tick` every `interval_s` for the daemon's life; a store away is said once, then retried."""
    said = ""
    while True:
        try:
            await tick()
        except (StoreError, DBAPIError, OSError) as exc:
            reason = str(exc).splitlines()[0]
            if reason != said:
                log.warning("due.store_unavailable", what=what, reason=reason)
                said = reason
        else:
            said = ""
        await asyncio.sleep(interval_s)
