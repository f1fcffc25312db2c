"""The store's side of the call facts and the callback list (issue 14): the PBX's times written on a
contact, the open missed calls of a number closed when the caller is answered or called back, and the
callback list (open missed calls merged per number, newest first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from cti_daemon.crm.models import Contact
from cti_daemon.crm.store import Store

MISSED_OUTCOMES = ("missed", "abandoned")


async def contact_of_call(store: Store, call_id: str) -> str | None:
    async with store.session() as session:
        return await session.scalar(
            select(Contact.id).where(Contact.call_id == call_id).order_by(Contact.created_at).limit(1)
        )


async def write_facts(store: Store, contact_id: str, values: dict[str, Any]) -> bool:
    """The PBX's facts are not an edit: the contact's version is left alone, so nobody's edit conflicts."""
    async with store.session() as session, session.begin():
        result = await session.execute(
            update(Contact)
            .where(Contact.id == contact_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class Closing:
    """The open missed calls of `e164` before `at` close: answered later, or called back."""

    e164: str
    at: datetime
    kind: str
    by_contact_id: str | None


@dataclass(frozen=True, slots=True)
class FactsWrite:
    contact_id: str | None  # None: only the closing (a call with no contact that was answered)
    values: dict[str, Any]
    closing: Closing | None


async def close_callbacks(
    store: Store, e164: str, at: datetime, kind: str, by_contact_id: str | None
) -> list[str]:
    """Every open missed call of this number before `at` is closed (answered later, or called back)."""
    async with store.session() as session, session.begin():
        return (await _close(session, [Closing(e164, at, kind, by_contact_id)]))[0]


async def write_facts_many(store: Store, writes: Sequence[FactsWrite]) -> list[list[str]]:
    """Several ended calls' facts and closings in one transaction (under load the calls end faster than
    a transaction each can be had); per write, the contacts its closing closed."""
    facts = [w for w in writes if w.contact_id is not None]
    async with store.session() as session, session.begin():
        if facts:
            table = cast(Table, Contact.__table__)
            names = sorted(facts[0].values)
            # Core executemany: the ORM's bulk path would run and check one UPDATE per contact.
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("facts_contact_id"))
                .values({n: bindparam(n) for n in names}),
                [{"facts_contact_id": w.contact_id, **{n: w.values[n] for n in names}} for w in facts],
            )
        closings = [w.closing for w in writes if w.closing is not None]
        closed = iter(await _close(session, closings) if closings else [])
    return [next(closed) if w.closing is not None else [] for w in writes]


async def _close(session: Any, closings: Sequence[Closing]) -> list[list[str]]:
    """One read for every number; an update per open missed call found (few: most callers had none)."""
    rows = (
        await session.execute(
            select(Contact.id, Contact.caller_e164, Contact.ended_at, Contact.created_at).where(
                Contact.caller_e164.in_(sorted({c.e164 for c in closings})),
                Contact.outcome.in_(MISSED_OUTCOMES),
                Contact.callback_at.is_(None),
            )
        )
    ).all()
    taken: set[str] = set()
    out: list[list[str]] = []
    for closing in closings:
        mine = []
        for contact_id, e164, ended_at, created_at in rows:
            if e164 != closing.e164 or contact_id in taken or contact_id == closing.by_contact_id:
                continue
            if _aware(created_at) > closing.at:
                continue
            since = _aware(ended_at or created_at)
            await session.execute(
                update(Contact)
                .where(Contact.id == contact_id, Contact.callback_at.is_(None))
                .values(
                    callback_at=closing.at,
                    callback_kind=closing.kind,
                    callback_contact_id=closing.by_contact_id,
                    callback_s=max(0, round((closing.at - since).total_seconds())),
                )
                .execution_options(synchronize_session=False)
            )
            taken.add(contact_id)
            mine.append(contact_id)
        out.append(mine)
    return out


async def close_contact(store: Store, contact_id: str, at: datetime, by_contact_id: str) -> None:
    """The missed contact a callback answers is closed by it, whatever number reached the caller."""
    async with store.session() as session, session.begin():
        row = await session.get(Contact, contact_id)
        if row is None or row.callback_at is not None:
            return
        since = _aware(row.ended_at or row.created_at)
        row.callback_at, row.callback_kind, row.callback_contact_id = at, "callback", by_contact_id
        row.callback_s = max(0, round((at - since).total_seconds()))


@dataclass(frozen=True, slots=True)
class CallbackEntry:
    number: str  # E.164 when known, else as the PBX sent it
    count: int
    last_at: datetime
    first_at: datetime
    last_contact_id: str
    contact_ids: tuple[str, ...]
    caller_name: str | None
    customer_id: str | None
    last_reason: str | None
    last_outcome: str | None
    last_wait_s: int | None
    responsible_employee_id: str | None


async def callbacks(store: Store, *, limit: int = 200) -> list[CallbackEntry]:
    """Open missed calls merged per number (one entry, the count, the last time), newest first."""
    async with store.session() as session:
        rows = (
            await session.scalars(
                select(Contact)
                .where(Contact.outcome.in_(MISSED_OUTCOMES), Contact.callback_at.is_(None))
                .order_by(Contact.created_at.desc(), Contact.id.desc())
                .limit(5000)
            )
        ).all()
    merged: dict[str, list[Contact]] = {}
    for row in rows:
        number = row.caller_e164 or row.caller_phone
        if number:
            merged.setdefault(number, []).append(row)
    out = []
    for number, calls in list(merged.items())[:limit]:
        last = calls[0]
        out.append(
            CallbackEntry(
                number,
                len(calls),
                _aware(last.created_at),
                _aware(calls[-1].created_at),
                last.id,
                tuple(c.id for c in calls),
                next((c.caller_name for c in calls if c.caller_name), None),
                next((c.customer_id for c in calls if c.customer_id), None),
                last.missed_reason,
                last.outcome,
                last.wait_s,
                last.responsible_employee_id,
            )
        )
    return out


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
