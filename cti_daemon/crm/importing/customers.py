"""`import customers`: customers, their phones and vehicles (CONTRACT's columns).

One row per vehicle; a customer with several vehicles has several rows with the same `customer_id`, and
`phones` lists numbers separated by `;`. Re-importing updates in place: a customer is matched by
`customer_id`, a phone by its E.164 number, a vehicle by VIN (or by plate when it has no VIN). The file is
the truth for the phones of each customer it lists (numbers no longer listed are removed); vehicles are
added and updated, never removed (documents and contacts point at them). Columns other than
`customer_id`, `name` and `phones` may be absent: what they hold is then left as it is.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti_daemon.crm.importing.csv_source import Record, Refused
from cti_daemon.crm.models import Base, Customer, Phone, Vehicle
from cti_daemon.crm.normalize import name_key, phone_key, plate_key, vin_key
from cti_daemon.crm.numbers import NumberKind, NumberRules
from cti_daemon.ids import uuid7

CUSTOMER_FIELDS = ("name", "kind", "tax_id", "crm_service", "crm_sales", "crm_parts")
_LIMITS = {"customer_id": 64, "name": 300, "tax_id": 32, "crm_service": 64, "crm_sales": 64, "crm_parts": 64}
_VIN_TEXT = re.compile(r"^[0-9A-Za-z \-]+$")
_KINDS = {"": "person", "person": "person", "company": "company"}


@dataclass(frozen=True, slots=True)
class VehicleRow:
    vin: str | None
    plate: str | None
    model: str | None
    year: int | None


@dataclass(slots=True)
class CustomerRow:
    line: int
    id: str
    values: dict[str, str | None]  # the customer's columns present in the file
    phones: dict[str, str] = field(default_factory=dict)  # e164 -> as entered
    vehicles: list[VehicleRow] = field(default_factory=list)


class CustomerImporter:
    kind = "customers"
    required: tuple[str, ...] = ("customer_id", "name", "phones")
    optional: tuple[str, ...] = (
        "kind",
        "tax_id",
        "vin",
        "plate",
        "model",
        "year",
        "crm_service",
        "crm_sales",
        "crm_parts",
    )

    def __init__(self, rules: NumberRules, *, now: datetime | None = None) -> None:
        self._rules = rules
        self._now = now
        self._listed: set[str] = set()  # customers whose phones this run has already set
        self.counts: Counter[str] = Counter()

    # --- one row ---------------------------------------------------------------------------------------
    def parse(self, record: Record) -> CustomerRow | Refused:
        f = record.fields
        line = record.line
        for column, limit in _LIMITS.items():
            if len(f.get(column, "")) > limit:
                return Refused(line, f"{column} longer than {limit} characters")
        if not f["customer_id"]:
            return Refused(line, "customer_id is empty")
        if not f["name"]:
            return Refused(line, "name is empty")
        values: dict[str, str | None] = {"name": f["name"]}
        if "kind" in f:
            if f["kind"].lower() not in _KINDS:
                return Refused(line, f"kind {f['kind']!r} is neither person nor company")
            values["kind"] = _KINDS[f["kind"].lower()]
        for column in ("tax_id", "crm_service", "crm_sales", "crm_parts"):
            if column in f:
                values[column] = f[column] or None
        row = CustomerRow(line, f["customer_id"], values)
        for raw in (p.strip() for p in f["phones"].split(";")):
            if not raw:
                continue
            number = self._rules.classify(raw)
            if number.kind is not NumberKind.EXTERNAL or number.e164 is None:
                return Refused(line, f"phones: {raw[:40]!r} is not a customer's number ({number.reason})")
            row.phones.setdefault(number.e164, raw)
        vehicle = _vehicle(f)
        if isinstance(vehicle, str):
            return Refused(line, vehicle)
        if vehicle is not None:
            row.vehicles.append(vehicle)
        return row

    # --- one batch -------------------------------------------------------------------------------------
    async def apply(self, session: AsyncSession, batch: list[CustomerRow]) -> tuple[list[Refused], set[str]]:
        now = self._now or datetime.now(UTC)
        merged: dict[str, CustomerRow] = {}
        for row in batch:
            into = merged.get(row.id)
            if into is None:
                merged[row.id] = CustomerRow(
                    row.line, row.id, dict(row.values), dict(row.phones), list(row.vehicles)
                )
            else:
                into.values.update(row.values)
                for e164, raw in row.phones.items():
                    into.phones.setdefault(e164, raw)
                into.vehicles.extend(row.vehicles)
        ids = list(merged)
        changed: set[str] = set()
        existing = {
            c.id: c
            for c in (await session.execute(select(Customer.__table__).where(Customer.id.in_(ids)))).all()
        }
        new_rows = []
        for cid, row in merged.items():
            old = existing.get(cid)
            if old is None:
                values = {"kind": "person", **row.values}
                new_rows.append(
                    {
                        "id": cid,
                        **values,
                        "name_search": name_key(row.values["name"] or ""),
                        "updated_at": now,
                    }
                )
                changed.add(cid)
                continue
            diff = {k: v for k, v in row.values.items() if getattr(old, k) != v}
            if diff:
                if "name" in diff:
                    diff["name_search"] = name_key(diff["name"] or "")
                await session.execute(
                    update(Customer).where(Customer.id == cid).values(**diff, updated_at=now)
                )
                changed.add(cid)
        if new_rows:
            await session.execute(insert(Base.metadata.tables["customers"]), new_rows)
        changed |= await self._phones(session, merged)
        changed |= await self._vehicles(session, merged)
        for cid in ids:
            if cid in self._listed:
                continue
            self.counts[
                "customers created"
                if cid not in existing
                else "customers updated"
                if cid in changed
                else "customers unchanged"
            ] += 1
        self._listed.update(ids)
        return [], changed

    async def _phones(self, session: AsyncSession, merged: dict[str, CustomerRow]) -> set[str]:
        changed: set[str] = set()
        have: dict[str, dict[str, tuple[int, str]]] = {cid: {} for cid in merged}
        for pid, cid, raw, e164 in await session.execute(
            select(Phone.id, Phone.customer_id, Phone.raw, Phone.e164).where(
                Phone.customer_id.in_(list(merged))
            )
        ):
            have[cid][e164 or f"raw:{raw}"] = (pid, raw)
        inserts = []
        gone: list[int] = []
        for cid, row in merged.items():
            current = have[cid]
            for e164, raw in row.phones.items():
                if e164 not in current:
                    inserts.append(
                        {
                            "customer_id": cid,
                            "raw": raw,
                            "e164": e164,
                            "digits": phone_key(raw, e164),
                            "kind": "mobile",
                        }
                    )
                    changed.update((cid, e164))
                elif current[e164][1] != raw:
                    await session.execute(
                        update(Phone)
                        .where(Phone.id == current[e164][0])
                        .values(raw=raw, digits=phone_key(raw, e164))
                    )
                    changed.add(cid)
            if cid not in self._listed:  # the first time this run lists the customer: the file is the truth
                for key, (pid, _raw) in current.items():
                    if key not in row.phones:
                        gone.append(pid)
                        changed.add(cid)
                        if not key.startswith("raw:"):
                            changed.add(key)
        if gone:
            await session.execute(delete(Phone).where(Phone.id.in_(gone)))
        if inserts:
            await session.execute(insert(Base.metadata.tables["phones"]), inserts)
        self.counts["phones added"] += len(inserts)
        self.counts["phones removed"] += len(gone)
        return changed

    async def _vehicles(self, session: AsyncSession, merged: dict[str, CustomerRow]) -> set[str]:
        changed: set[str] = set()
        wanted = {cid: row.vehicles for cid, row in merged.items() if row.vehicles}
        if not wanted:
            return changed
        have: dict[tuple[str, str], tuple[str, str | None, str | None, int | None]] = {}
        for vid, cid, vin, plate, pkey, model, year in await session.execute(
            select(
                Vehicle.id,
                Vehicle.customer_id,
                Vehicle.vin,
                Vehicle.plate,
                Vehicle.plate_key,
                Vehicle.model,
                Vehicle.year,
            ).where(Vehicle.customer_id.in_(list(wanted)))
        ):
            if vin:
                have[(cid, f"vin:{vin}")] = (vid, plate, model, year)
            if pkey:
                have.setdefault((cid, f"plate:{pkey}"), (vid, plate, model, year))
        inserts: dict[
            str, dict[str, str | int | None]
        ] = {}  # vehicle id -> row, written at the end of the batch
        for cid, vehicles in wanted.items():
            for v in vehicles:
                key = (cid, f"vin:{v.vin}") if v.vin else (cid, f"plate:{plate_key(v.plate or '')}")
                found = have.get(key)
                if found is None:
                    vid = uuid7()
                    record: dict[str, str | int | None] = {
                        "id": vid,
                        "customer_id": cid,
                        "vin": v.vin,
                        "plate": v.plate,
                        "plate_key": plate_key(v.plate) or None if v.plate else None,
                        "model": v.model,
                        "year": v.year,
                    }
                    inserts[vid] = record
                    have[key] = (vid, v.plate, v.model, v.year)
                    changed.add(cid)
                    continue
                vid, plate, model, year = found
                diff: dict[str, str | int | None] = {
                    k: new
                    for k, new, old in (
                        ("plate", v.plate, plate),
                        ("model", v.model, model),
                        ("year", v.year, year),
                    )
                    if new is not None and new != old
                }
                if diff:
                    if "plate" in diff:
                        diff["plate_key"] = plate_key(v.plate or "") or None
                    if vid in inserts:  # listed twice in this batch: the later row wins before the insert
                        inserts[vid].update(diff)
                    else:
                        await session.execute(update(Vehicle).where(Vehicle.id == vid).values(**diff))
                    have[key] = (vid, v.plate or plate, v.model or model, v.year or year)
                    changed.add(cid)
                    self.counts["vehicles updated"] += 1
        if inserts:
            await session.execute(insert(Base.metadata.tables["vehicles"]), list(inserts.values()))
        self.counts["vehicles added"] += len(inserts)
        return changed


def _ascii_digits(text: str) -> bool:
    # str.isdigit() is true for "²", which int() refuses: a spreadsheet's superscript must be a refused
    # row, not an import that stops with a traceback.
    return text.isascii() and text.isdigit()


def _vehicle(f: dict[str, str]) -> VehicleRow | str | None:
    """The row's vehicle, None when it names none, or why it is refused."""
    vin_text, plate, model, year_text = (f.get(c, "") for c in ("vin", "plate", "model", "year"))
    if not (vin_text or plate):
        return None
    vin = None
    if vin_text:
        vin = vin_key(vin_text)
        if not _VIN_TEXT.match(vin_text) or not 5 <= len(vin) <= 17:
            return f"vin: {vin_text[:40]!r} is not a VIN (up to 17 Latin letters and digits)"
    if plate and (len(plate) > 16 or not plate_key(plate)):
        return f"plate: {plate[:40]!r} is not a registration plate"
    if len(model) > 120:
        return "model longer than 120 characters"
    year = None
    if year_text:
        if not _ascii_digits(year_text) or not 1900 <= int(year_text) <= datetime.now(UTC).year + 1:
            return f"year: {year_text[:20]!r} is not a model year"
        year = int(year_text)
    return VehicleRow(vin, plate or None, model or None, year)
