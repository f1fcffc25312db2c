"""The facts of ended calls, written together: one task takes what ended while the last transaction ran
and writes it in the next one (facts, the callbacks an answer closes), then reads the contacts back in one
read. A transaction and two reads per call cost more than the rest of a call together at 135 calls/s, and
the journal fell behind the pops (bench/capacity.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cti_daemon.crm import call_facts_store as facts_store
from cti_daemon.crm.call_facts_store import Closing, FactsWrite
from cti_daemon.crm.journal_store import ContactRecord, JournalStore
from cti_daemon.crm.store import Store

BATCH_MAX = 200  # calls per transaction: bounded, so one transaction never holds the store for long


@dataclass(frozen=True, slots=True)
class Written:
    record: ContactRecord | None  # the contact as it is now (None: no contact, or not in the store)
    closed: list[str]  # the missed contacts the closing closed


class FactsWriter:
    def __init__(self, store: Store, journal: JournalStore) -> None:
        self._store = store
        self._journal = journal
        self._pending: list[tuple[FactsWrite, asyncio.Future[Written]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def write(self, contact_id: str | None, values: dict[str, Any], closing: Closing | None) -> Written:
        """StoreError (and whatever else the store raised for the whole batch) as from a write alone."""
        done: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)  # a caller cancelled meanwhile must not leave it unread
        self._pending.append((FactsWrite(contact_id, values, closing), done))
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush(), name="call-facts-writes")
        return await asyncio.shield(done)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
                try:
                    results = await self._write([w for w, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each waiting call gets it, as if it had written alone
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for (_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)
        finally:
            self._flushing = None

    async def _write(self, writes: list[FactsWrite]) -> list[Written]:
        closed = await facts_store.write_facts_many(self._store, writes)
        ids = [w.contact_id for w in writes if w.contact_id is not None]
        records = await self._journal.get_many(ids) if ids else {}
        return [
            Written(records.get(w.contact_id) if w.contact_id is not None else None, c)
            for w, c in zip(writes, closed, strict=True)
        ]


def _retrieved(done: asyncio.Future[Written]) -> None:
    if not done.cancelled():
        done.exception()
