"""Journal retention: contacts older than `[journal] retention_days` are deleted with their notes and
events, so the store does not grow without end. Only closed contacts go (finalized or missed): an open
one, however old, is still someone's work and stays until it is closed.

Deleted in batches, each its own short transaction, so the daemon's journal writes never wait long
behind a large first prune.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from cti_daemon import logs
from cti_daemon.crm.models import Contact, ContactEvent, ContactNote
from cti_daemon.crm.store import Store, StoreError

log = logs.get("cti.crm.retention")

CLOSED_STATUSES = ("finalized", "missed")
BATCH = 1000


@dataclass(frozen=True, slots=True)
class PruneResult:
    cutoff: datetime
    deleted: int
    kept_open: int  # contacts older than the cutoff kept because they are still open


def cutoff_for(retention_days: int, now: datetime) -> datetime:
    return now - timedelta(days=retention_days)


async def prune_journal(store: Store, cutoff: datetime, *, batch: int = BATCH) -> PruneResult:
    """Delete closed contacts created before `cutoff`, with their notes and events."""
    old = Contact.created_at < cutoff
    deleted = 0
    while True:
        async with store.session() as session, session.begin():
            ids = list(
                (
                    await session.scalars(
                        select(Contact.id).where(old, Contact.status.in_(CLOSED_STATUSES)).limit(batch)
                    )
                ).all()
            )
            if not ids:
                break
            # The foreign keys cascade too; said here so it holds whatever the database's settings.
            await session.execute(delete(ContactNote).where(ContactNote.contact_id.in_(ids)))
            await session.execute(delete(ContactEvent).where(ContactEvent.contact_id.in_(ids)))
            await session.execute(delete(Contact).where(Contact.id.in_(ids)))
        deleted += len(ids)
    async with store.session() as session:
        kept = await session.scalar(select(func.count()).select_from(Contact).where(old))
    result = PruneResult(cutoff, deleted, int(kept or 0))
    log.info("journal.pruned", cutoff=cutoff.isoformat(), deleted=result.deleted, kept_open=result.kept_open)
    return result


DAY_S = 86_400.0


async def run_daily(
    store: Store, retention_days: int, clock: Callable[[], datetime], *, interval_s: float = DAY_S
) -> None:
    """The daemon's task: prune at start, then once a day. A store that is away is tried the next day."""
    while True:
        try:
            await prune_journal(store, cutoff_for(retention_days, clock()))
        except (StoreError, OSError, DBAPIError) as exc:
            log.warning("journal.prune_failed", reason=str(exc).splitlines()[0] if str(exc) else "unknown")
        await asyncio.sleep(interval_s)
