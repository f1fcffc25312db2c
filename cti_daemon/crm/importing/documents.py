"""`import documents`: repair orders, sales, parts orders and complaints (CONTRACT's columns).

Matched by `document_id` on re-import. The customer must already be in the store; `vin`, when given,
must be one of that customer's vehicles. `opened_at` is ISO 8601 (`2026-11-20`, `2026-11-20T09:30`,
with or without an offset; without one it is UTC) or `20.11.2026 [09:30]`. An empty `purpose` follows the
kind (repair order: service, sale: showroom, parts order: shop, complaint: feedback).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti_daemon.crm.importing.csv_source import Record, Refused
from cti_daemon.crm.models import Base, Customer, Document, Purpose, Vehicle
from cti_daemon.crm.normalize import vin_key

KIND_PURPOSE = {"repair_order": "service", "sale": "showroom", "parts_order": "shop", "complaint": "feedback"}
STATUSES = ("open", "closed")
_RU_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")


@dataclass(frozen=True, slots=True)
class DocumentRow:
    line: int
    id: str
    customer_id: str
    values: dict[str, str | datetime | None]
    vin: str | None


def parse_time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _RU_FORMATS:
            try:
                value = datetime.strptime(text, fmt)  # noqa: DTZ007 - read as UTC just below
                break
            except ValueError:
                continue
        else:
            return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # '0001-01-01T00:00+14:00' parses but has no UTC form
        return None


class DocumentImporter:
    kind = "documents"
    required: tuple[str, ...] = ("document_id", "customer_id", "kind", "number")
    optional: tuple[str, ...] = ("status", "purpose", "owner_employee_id", "opened_at", "vin")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._purposes: set[str] | None = None

    def parse(self, record: Record) -> DocumentRow | Refused:
        f, line = record.fields, record.line
        for column in ("document_id", "customer_id", "number", "owner_employee_id"):
            if len(f.get(column, "")) > 64:
                return Refused(line, f"{column} longer than 64 characters")
        for column in ("document_id", "customer_id", "number"):
            if not f[column]:
                return Refused(line, f"{column} is empty")
        kind = f["kind"].lower()
        if kind not in KIND_PURPOSE:
            return Refused(line, f"kind {f['kind'][:40]!r} is not one of {', '.join(KIND_PURPOSE)}")
        values: dict[str, str | datetime | None] = {"kind": kind, "number": f["number"]}
        if "status" in f:
            status = f["status"].lower() or "open"
            if status not in STATUSES:
                return Refused(line, f"status {f['status'][:40]!r} is neither open nor closed")
            values["status"] = status
        if "purpose" in f:
            values["purpose"] = f["purpose"].lower() or KIND_PURPOSE[kind]
        if "owner_employee_id" in f:
            values["owner_employee_id"] = f["owner_employee_id"] or None
        if f.get("opened_at"):
            opened = parse_time(f["opened_at"])
            if opened is None:
                return Refused(
                    line, f"opened_at {f['opened_at'][:40]!r} is not a date (2026-11-20 or 20.11.2026)"
                )
            values["opened_at"] = opened
        return DocumentRow(
            line, f["document_id"], f["customer_id"], values, vin_key(f["vin"]) if f.get("vin") else None
        )

    async def apply(self, session: AsyncSession, batch: list[DocumentRow]) -> tuple[list[Refused], set[str]]:
        if self._purposes is None:
            self._purposes = set((await session.scalars(select(Purpose.code))).all())
        customer_ids = {r.customer_id for r in batch}
        known = set((await session.scalars(select(Customer.id).where(Customer.id.in_(customer_ids)))).all())
        vehicles = {
            (cid, vin): vid
            for vid, cid, vin in await session.execute(
                select(Vehicle.id, Vehicle.customer_id, Vehicle.vin).where(
                    Vehicle.customer_id.in_(customer_ids)
                )
            )
        }
        existing = {
            d.id: d
            for d in (
                await session.execute(
                    select(Document.__table__).where(Document.id.in_([r.id for r in batch]))
                )
            ).all()
        }
        refused: list[Refused] = []
        changed: set[str] = set()
        inserts: dict[str, dict[str, str | datetime | None]] = {}
        for row in batch:
            if row.customer_id not in known:
                refused.append(
                    Refused(
                        row.line,
                        f"customer_id {row.customer_id!r} is not in the store (import customers first)",
                    )
                )
                continue
            purpose = row.values.get("purpose")
            if purpose is not None and purpose not in self._purposes:
                refused.append(
                    Refused(
                        row.line,
                        f"purpose {purpose!r} is not configured (known: {', '.join(sorted(self._purposes))})",
                    )
                )
                continue
            values = dict(row.values, customer_id=row.customer_id)
            if row.vin is not None:
                vid = vehicles.get((row.customer_id, row.vin))
                if vid is None:
                    refused.append(
                        Refused(row.line, f"vin {row.vin!r} is not a vehicle of customer {row.customer_id!r}")
                    )
                    continue
                values["vehicle_id"] = vid
            if row.id in inserts:  # listed twice in this batch: the later row wins
                inserts[row.id].update(values)
                continue
            old = existing.get(row.id)
            if old is None:
                inserts[row.id] = {
                    "id": row.id,
                    "status": "open",
                    "purpose": KIND_PURPOSE[str(row.values["kind"])],
                    "owner_employee_id": None,
                    "opened_at": None,
                    "vehicle_id": None,
                    **values,
                }
                changed.add(row.customer_id)
                continue
            diff = {k: v for k, v in values.items() if _differs(getattr(old, k), v)}
            if diff:
                await session.execute(update(Document).where(Document.id == row.id).values(**diff))
                changed.update({row.customer_id, old.customer_id})
                self.counts["documents updated"] += 1
            else:
                self.counts["documents unchanged"] += 1
        if inserts:
            await session.execute(insert(Base.metadata.tables["documents"]), list(inserts.values()))
        self.counts["documents created"] += len(inserts)
        return refused, changed


def _differs(old: object, new: object) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime) and old.tzinfo is None:
        return old.replace(tzinfo=UTC) != new  # SQLite gives back naive UTC
    return old != new
