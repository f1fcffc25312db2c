"""Writes new contacts and notes to the store, or to the durable spool while the store is away, and
replays the spool, in order and exactly once, when the store is back (inserts are idempotent by id)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

from cti_daemon import logs
from cti_daemon.crm.journal_store import (
    ContactChangedError,
    ContactNotFoundError,
    ContactRecord,
    ContactReferenceError,
    EventRecord,
    Filters,
    JournalStore,
    NoteRecord,
)
from cti_daemon.crm.spool import Spool, SpoolWriteError
from cti_daemon.crm.store import StoreError, StoreUnavailableError, refused_for_content
from cti_daemon.ids import uuid7

log = logs.get("cti.routing.journal")

BATCH_MAX = 200  # ring contacts written in one transaction at most


class JournalWriter:
    def __init__(
        self,
        journal: JournalStore,
        spool: Spool,
        *,
        invalidate: Callable[[str], None],
        replayed: Callable[[ContactRecord], None] | None = None,
    ) -> None:
        """`replayed`: told of a contact a spooled change (a missed mark) changed when it was written late,
        so the agents' clients learn of it as they would have at the time."""
        self.journal = journal
        self.spool = spool
        self.rejected = Spool(spool.path.with_name(spool.path.stem + ".rejected.jsonl"))
        self._invalidate = invalidate
        self._replayed = replayed
        self._creating: dict[str, asyncio.Future[None]] = {}
        self._creating_calls: dict[str, str] = {}  # contact id -> call id, while its write is under way
        self._pending: list[tuple[ContactRecord, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None
        # What the ring path could neither store nor spool (the store away and the disk full): kept in
        # memory, in order, and put in the spool as soon as it takes records again. HTTP writes are
        # refused instead (503): a client can send again, a ring cannot.
        self._held: list[dict[str, Any]] = []
        self.spooled_ids: set[str] = {r["key"] for r in spool.pending() if r.get("op") == "contact"}

    # --- writing -------------------------------------------------------------------------------------
    def create_soon(self, record: ContactRecord) -> None:
        """Write in the background (the ring path does not wait for the store); `settle` waits for it.
        One writer task: what rings while a write is under way goes in the next transaction together
        (a transaction per ring was the ring path's largest cost at 60 calls/s: bench/capacity.py)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._creating[record.id] = done
        if record.call_id:
            self._creating_calls[record.id] = record.call_id
        done.add_done_callback(functools.partial(self._forget, record.id))
        self._pending.append((record, done))
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush(), name="journal-ring-writes")

    def _forget(self, contact_id: str, _done: asyncio.Future[None]) -> None:
        self._creating.pop(contact_id, None)
        self._creating_calls.pop(contact_id, None)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
                try:
                    await self._create_batch([record for record, _ in batch])
                finally:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._flushing = None

    async def _create_batch(self, records: list[ContactRecord]) -> None:
        if len(records) > 1:
            try:
                await self.journal.insert_many(records)
            except StoreUnavailableError as exc:
                for record in records:
                    self._spool_contact(record, exc, hold=True)
                return
            except Exception as exc:  # noqa: BLE001 - refused as a whole: each alone says which and why
                log.info("journal.batch_refused", contacts=len(records), reason=type(exc).__name__)
            else:
                for record in records:
                    if record.customer_id:
                        self._invalidate(record.customer_id)
                return
        for record in records:
            try:
                await self._create_quietly(record)
            except Exception:
                log.exception("journal.write_failed", contact_id=record.id, call_id=record.call_id)

    @property
    def waiting(self) -> int:
        """Writes waiting for the store: in the spool, and held in memory while the spool's disk is full."""
        return len(self.spool) + len(self._held)

    def _keep(self, item: dict[str, Any], *, hold: bool) -> None:
        """Into the spool, behind whatever is held in memory (the order of a contact and its marks
        matters). SpoolWriteError when the disk refuses it, unless `hold`: then held in memory."""
        try:
            self.flush_held()
            self.spool.append(item)
        except SpoolWriteError as exc:
            if not hold:
                raise
            self._held.append(item)
            log.error(  # noqa: TRY400 - the reason is the story, not a traceback
                "journal.held_in_memory",
                key=item["key"],
                op=item.get("op"),
                held=len(self._held),
                reason=str(exc),
            )

    def flush_held(self) -> None:
        """Move what is held in memory to the spool, oldest first (SpoolWriteError: the disk is still
        full; what could not be moved stays held)."""
        while self._held:
            self.spool.append(self._held[0])
            self._held.pop(0)
            if not self._held:
                log.info("journal.held_spooled")

    async def create(self, record: ContactRecord, *, hold: bool = False) -> bool:
        """True when stored; False when the store is away and the contact is safe in the spool (or, with
        `hold`, in memory while the spool's disk is full). SpoolWriteError: the store is away and the
        spool could not keep it; nothing was kept."""
        try:
            await self.journal.insert(record)
        except StoreUnavailableError as exc:
            self._spool_contact(record, exc, hold=hold)
            return False
        if record.customer_id:
            self._invalidate(record.customer_id)  # its card's last contact and 90-day count changed
        return True

    def _spool_contact(self, record: ContactRecord, exc: StoreUnavailableError, *, hold: bool) -> None:
        self._keep({"key": record.id, "op": "contact", "record": _to_json(record)}, hold=hold)
        self.spooled_ids.add(record.id)
        log.warning("journal.spooled", contact_id=record.id, call_id=record.call_id, reason=str(exc))

    def forget_cards(self, *keys: str | None) -> None:
        """Drop cached identifications a change made stale (customer ids, E.164 numbers)."""
        for key in keys:
            if key:
                self._invalidate(key)

    async def note(self, contact_id: str, note: NoteRecord) -> bool:
        """Append a note: stored (True), or spooled (False) when the store is away and the contact exists
        or waits in the spool itself. ContactNotFoundError when there is no such contact."""
        try:
            await self.journal.add_note(contact_id, note)
        except StoreUnavailableError as exc:
            if contact_id not in self.spooled_ids:
                raise  # we cannot tell the contact exists: refuse rather than keep a note for nothing
            self._keep(
                {"key": note.id, "op": "note", "contact_id": contact_id, "note": _to_json(note)}, hold=False
            )
            log.warning("journal.note_spooled", contact_id=contact_id, reason=str(exc))
            return False
        return True

    async def mark_missed(self, contact_id: str, reason: str, event: EventRecord) -> ContactRecord | None:
        """A contact still 'registered' becomes 'missed' (the caller hung up before anyone answered): the
        updated contact, or None when reception already did something with it. While the store is away,
        or the contact itself still waits in the spool, the mark waits in the spool behind it and is
        applied when it is replayed, with the time of the hang-up."""
        why = "the contact itself waits in the spool"
        if contact_id not in self.spooled_ids:
            try:
                return await self._apply_missed(contact_id, reason, event)
            except StoreUnavailableError as exc:
                why = str(exc) or type(exc).__name__
        record = {"key": event.id, "op": "missed", "contact_id": contact_id, "reason": reason}
        self._keep({**record, "event": _to_json(event)}, hold=True)  # from a hang-up: nobody to refuse
        log.warning("journal.missed_spooled", contact_id=contact_id, reason=why)
        return None

    async def _apply_missed(self, contact_id: str, reason: str, event: EventRecord) -> ContactRecord | None:
        for _ in range(3):  # changed between our read and our write: read again, it may be settled now
            current = await self.journal.get(contact_id)
            if current is None or current.status != "registered":
                return None
            try:
                return await self.journal.update(
                    contact_id,
                    {"status": "missed", "missed_reason": reason, "updated_at": event.at},
                    expected_version=current.version,
                    event=event,
                )
            except ContactNotFoundError:
                return None
            except ContactChangedError:
                continue
        return None

    async def settle(self, contact_id: str) -> None:
        """Wait for a background write of this contact, if one is under way."""
        task = self._creating.get(contact_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def waiting_contact_of_call(self, call_id: str) -> str | None:
        """The id of this call's first contact not yet in the store: being written, or waiting (spool or
        memory), if any."""
        for contact_id, creating_call in self._creating_calls.items():
            if creating_call == call_id:
                return contact_id
        for item in [*self.spool.pending(), *self._held]:
            record = item.get("record")
            if item.get("op") == "contact" and isinstance(record, dict) and record.get("call_id") == call_id:
                return str(item["key"])
        return None

    async def contacts_of_call(self, call_id: str, *, timeout_s: float = 2.0) -> list[ContactRecord]:
        """Every contact the journal holds for this call id: those still waiting in the spool or held in
        memory (a full disk), and the store's (within `timeout_s`: a store that is away or slow leaves only
        the spool's)."""
        found: list[ContactRecord] = []
        for item in [*self.spool.pending(), *self._held]:
            record = item.get("record")
            if item.get("op") == "contact" and isinstance(record, dict) and record.get("call_id") == call_id:
                try:
                    found.append(_contact_from_json(record))
                except (TypeError, ValueError):
                    log.warning("journal.spool_record_unreadable", key=item.get("key"))
        try:
            query = self.journal.query(Filters(call_id=call_id, limit=20))
            found.extend(await asyncio.wait_for(query, timeout_s))
        except (StoreError, DBAPIError, OSError, TimeoutError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("journal.call_contacts_unavailable", call_id=call_id, reason=reason)
        return found

    async def _create_quietly(self, record: ContactRecord) -> bool:
        try:
            return await self.create(record, hold=True)
        except ContactReferenceError as exc:
            log.error("journal.refused", contact_id=record.id, reason=str(exc))  # noqa: TRY400 - no traceback needed
            return False
        except DBAPIError as exc:
            # Refused for what it holds (being away is spooled, not raised): a line an operator can act on,
            # with what identifies the call, rather than an asyncio "exception never retrieved".
            log.error(  # noqa: TRY400 - the database's reason is the story
                "journal.refused",
                contact_id=record.id,
                call_id=record.call_id,
                caller_phone=record.caller_phone,
                reason=str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__,
            )
            return False
        except Exception as exc:  # noqa: BLE001 - a ring's contact must not die with a background task
            # Nothing we know of (the store's faults are StoreUnavailableError): keep the contact for the
            # replay rather than lose it in an "exception never retrieved".
            self._keep({"key": record.id, "op": "contact", "record": _to_json(record)}, hold=True)
            self.spooled_ids.add(record.id)
            log.error(  # noqa: TRY400 - the reason, not a traceback that may carry the values
                "journal.write_failed", contact_id=record.id, call_id=record.call_id, error=type(exc).__name__
            )
            return False

    # --- the spool -----------------------------------------------------------------------------------
    async def replay(self) -> int:
        """Write what the spool holds, oldest first; stop at the first sign the store is still away.
        Returns how many records were written (or found already written)."""
        done: list[str] = []
        try:
            for item in self.spool.pending():
                try:
                    await self._replay_one(item)
                except DBAPIError as exc:
                    if not _refused_for_content(exc):
                        raise  # a lock, a deadlock...: run_replay says so and tries again
                    self._set_aside(item, exc)
                done.append(item["key"])
        except StoreUnavailableError:
            pass
        finally:
            if done:
                self.spool.remove(done)
                self.spooled_ids.difference_update(done)
                log.info("journal.spool_replayed", written=len(done), left=len(self.spool))
        return len(done)

    async def run_replay(self, interval_s: float = 2.0) -> None:
        said = ""
        while True:
            if self._held:
                with contextlib.suppress(SpoolWriteError):
                    self.flush_held()
            if self.spool.pending():
                try:
                    await self.replay()
                    said = ""
                except (StoreError, DBAPIError, OSError) as exc:
                    reason = str(exc).splitlines()[0]
                    if reason != said:  # e.g. the schema not created yet: once, not every 2 s
                        log.warning("journal.spool_replay_failed", reason=reason, left=len(self.spool))
                        said = reason
            await asyncio.sleep(interval_s)

    def _set_aside(self, item: dict[str, Any], exc: DBAPIError) -> None:
        """A record the database refuses for its content would be refused on every replay and hold back
        everything behind it: it goes, whole, to the rejected file beside the spool, for an operator."""
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
        self.rejected.append({"key": item["key"], "reason": reason, "record": item})
        log.error(
            "journal.spool_record_rejected",
            key=item["key"],
            op=item.get("op"),
            reason=reason,
            kept_in=str(self.rejected.path),
        )

    async def _replay_one(self, item: dict[str, Any]) -> None:
        if item.get("op") == "contact":
            record = _contact_from_json(item["record"])
            try:
                await self.journal.insert(record)
            except ContactReferenceError as exc:
                # Something it names vanished while it waited: keep the contact, say what was dropped.
                kept = dataclasses.replace(
                    record,
                    customer_id=None,
                    vehicle_id=None,
                    responsible_employee_id=None,
                    notes=(*record.notes, _system_note(record, str(exc))),
                )
                await self.journal.insert(kept)
            if record.customer_id:
                self._invalidate(record.customer_id)
        elif item.get("op") == "note":
            try:
                await self.journal.add_note(item["contact_id"], _note_from_json(item["note"]))
            except ContactNotFoundError:
                log.error(  # noqa: TRY400 - the reason is the whole story
                    "journal.note_without_contact", contact_id=item["contact_id"], note_id=item["key"]
                )
        elif item.get("op") == "missed":
            event = EventRecord(**_dated(item["event"]))
            updated = await self._apply_missed(item["contact_id"], item["reason"], event)
            if updated is not None and self._replayed is not None:
                self._replayed(updated)
        else:
            log.error("journal.spool_unknown_record", key=item.get("key"), op=item.get("op"))


_refused_for_content = refused_for_content


def _system_note(record: ContactRecord, reason: str) -> NoteRecord:
    return NoteRecord(
        uuid7(),
        "cti-daemon",
        record.created_at,
        f"Written late from the spool; {reason}, so the reference was removed "
        f"(customer {record.customer_id}, vehicle {record.vehicle_id}, "
        f"responsible {record.responsible_employee_id}).",
    )


_DATES = {
    "created_at",
    "finalized_at",
    "postponed_until",
    "queued_at",
    "updated_at",
    "at",
    "rang_at",
    "answered_at",
    "ended_at",
    "callback_at",
}


def _to_json(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in dataclasses.asdict(value).items():
        out[key] = _plain(item)
    return out


def _plain(item: Any) -> Any:
    if isinstance(item, datetime):
        return item.isoformat()
    if isinstance(item, list | tuple):
        return [_plain(i) for i in item]
    if isinstance(item, dict):
        return {k: _plain(v) for k, v in item.items()}
    return item


def _dated(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: datetime.fromisoformat(v) if k in _DATES and isinstance(v, str) else v for k, v in raw.items()}


def _note_from_json(raw: dict[str, Any]) -> NoteRecord:
    return NoteRecord(**_dated(raw))


def _contact_from_json(raw: dict[str, Any]) -> ContactRecord:
    values = _dated(raw)
    values["candidate_ids"] = tuple(values.get("candidate_ids") or ())
    values["notes"] = tuple(_note_from_json(n) for n in values.get("notes") or ())
    values["events"] = tuple(EventRecord(**_dated(e)) for e in values.get("events") or ())
    return ContactRecord(**values)
