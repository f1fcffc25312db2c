"""Search the customer store by any part of a name, a phone number, a VIN or a plate.

The query language is the Communication Centre's (seed 002): `=value` matches a whole value exactly;
a value with `%` is a LIKE pattern (`Ma%` starts with, `%ria` ends with, `%ari%` contains; `_` is any one
character); a value without either matches any part of a value (`ari` = `%ari%`). Case does not matter,
ё reads as е, and a plate's Cyrillic letters equal their Latin look-alikes (А123ВС77 = A123BC77). A part
must be at least 3 letters or digits long, which is also what the trigram indexes need.

The terms are always bound parameters. PostgreSQL answers from pg_trgm GIN indexes on the search keys,
SQLite from an FTS5 trigram index (`migrations/sqlite_search.py`). At most `max_matches` customers are
considered per search; past that the page says `capped` and the receptionist types more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, column, literal, select, table

from cti_daemon.crm.cards import VehicleCard
from cti_daemon.crm.models import Customer, Phone, Vehicle
from cti_daemon.crm.normalize import digits, name_key, plate_key, vin_key
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.store import Store

MIN_PART = 3
MAX_QUERY = 200
MAX_LIMIT = 200
_PHONE_TEXT = re.compile(r"^[\d\s()+\-.%_]+$")

_search_terms = table("search_terms", column("id"), column("customer_id"), column("field"))
_search_fts = table("search_fts", column("rowid"), column("value"))


class SearchError(ValueError):
    """The query cannot be searched (empty, too short, too long); the message says why."""


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    id: str
    name: str
    kind: str
    tax_id: str | None
    phones: list[str]  # E.164 where known, else as entered
    vehicles: list[VehicleCard]
    matched: tuple[str, ...]  # which of name, phone, vin, plate matched


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    limit: int
    offset: int
    has_more: bool
    capped: bool = False  # more customers matched than a search considers: refine the query
    total: int | None = None  # customers matched (exact unless capped)
    fields: tuple[str, ...] = field(default=())  # the fields the query was searched in


@dataclass(frozen=True, slots=True)
class _Term:
    field: str
    mode: str  # exact | like
    value: str


def parse(q: str, rules: NumberRules) -> list[_Term]:
    """The query as one term per field it can match; raises SearchError when none can."""
    text = q.strip()
    if not text:
        raise SearchError("empty query: type part of a name, phone number, VIN or plate")
    if len(text) > MAX_QUERY:
        raise SearchError(f"query longer than {MAX_QUERY} characters")
    if text.startswith("="):
        return _exact(text[1:].strip(), rules)
    pattern = text if "%" in text else f"%{text}%"
    terms = []
    keys: list[tuple[str, Callable[[str], str]]] = [
        ("name", name_key),
        ("vin", vin_key),
        ("plate", plate_key),
    ]
    if _PHONE_TEXT.match(text) and any(c.isdigit() for c in text):
        keys.insert(1, ("phone", digits))
    for name, key in keys:
        value = _like(pattern, key)
        if max((len(part) for part in re.split(r"[%_]", value)), default=0) >= MIN_PART:
            terms.append(_Term(name, "like", value))
    if not terms:
        raise SearchError(f"type at least {MIN_PART} letters or digits in a row")
    return terms


def _like(pattern: str, key: Callable[[str], str]) -> str:
    # Each run between wildcards is read like the stored key; the wildcards stay where the user put them.
    pieces = re.split(r"([%_])", pattern)
    return "".join(p if p in {"%", "_"} else key(p) for p in pieces)


def _exact(value: str, rules: NumberRules) -> list[_Term]:
    if not value:
        raise SearchError("'=' needs a value to match exactly")
    terms = [_Term("name", "exact", name_key(value))]
    number = rules.classify(value)
    if number.e164 is not None:
        terms.append(_Term("phone", "exact", number.e164))
    for name, key in (("vin", vin_key), ("plate", plate_key)):
        if key(value):
            terms.append(_Term(name, "exact", key(value)))
    return terms


class CustomerSearch:
    def __init__(self, store: Store, rules: NumberRules, *, max_matches: int = 1000) -> None:
        self._store = store
        self._rules = rules
        self.max_matches = max_matches

    async def search(self, q: str, limit: int = 20, offset: int = 0) -> Page[CustomerSummary]:
        """Customers matching `q`, ordered by name; raises SearchError for a query it cannot run."""
        if not 1 <= limit <= MAX_LIMIT:
            raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise SearchError("offset must not be negative")
        terms = parse(q, self._rules)
        sqlite = self._store.dialect == "sqlite"
        queries = _sqlite_queries(terms, self.max_matches) if sqlite else _generic_queries(terms)
        capped_at = self.max_matches + 1
        matched: dict[str, tuple[str, list[str]]] = {}
        async with self._store.session() as session:
            for query in queries:
                for cid, name, fld in await session.execute(query.limit(capped_at)):
                    matched.setdefault(cid, (name, []))[1].append(fld)
            capped = len(matched) > self.max_matches
            ordered = sorted(matched, key=lambda cid: (matched[cid][0], cid))[: self.max_matches]
            window = ordered[offset : offset + limit]
            items = await _summaries(session, window, matched) if window else []
        return Page(
            items=items,
            limit=limit,
            offset=offset,
            has_more=offset + limit < len(ordered),
            capped=capped,
            total=len(ordered),
            fields=tuple(dict.fromkeys(t.field for t in terms)),
        )


def _generic_queries(terms: list[_Term]) -> list[Select[str, str, str]]:
    """One statement per field on the tables' search keys (PostgreSQL: pg_trgm GIN and B-tree indexes)."""
    out: list[Select[str, str, str]] = []
    for term in terms:
        column_of = {
            "name": Customer.name_search,
            "phone": Phone.e164 if term.mode == "exact" else Phone.digits,
            "vin": Vehicle.vin,
            "plate": Vehicle.plate_key,
        }[term.field]
        cond = column_of == term.value if term.mode == "exact" else column_of.like(term.value)
        if term.field == "name":
            out.append(select(Customer.id, Customer.name_search, literal("name")).where(cond))
            continue
        owner = Phone.customer_id if term.field == "phone" else Vehicle.customer_id
        out.append(
            select(Customer.id, Customer.name_search, literal(term.field)).where(
                Customer.id.in_(select(owner).where(cond).distinct())
            )
        )
    return out


def _sqlite_queries(terms: list[_Term], max_matches: int) -> list[Select[str, str, str]]:
    """SQLite: exact terms as above; LIKE terms through the FTS5 trigram index, one statement for the
    fields whose patterns read the same (the index ignores case)."""
    out = _generic_queries([t for t in terms if t.mode == "exact"])
    by_pattern: dict[str, list[str]] = {}
    for term in terms:
        if term.mode == "like":
            by_pattern.setdefault(term.value.casefold(), []).append(term.field)
    for pattern, fields in by_pattern.items():
        # `id IN (the FTS rowids)` makes SQLite read the FTS index first; written as a join, its planner
        # may walk search_terms by field and probe the FTS table once per row (hundreds of ms).
        found = select(_search_fts.c.rowid).where(_search_fts.c.value.like(pattern))
        hits = (
            select(_search_terms.c.customer_id, _search_terms.c.field)
            .where(_search_terms.c.id.in_(found), _search_terms.c.field.in_(fields))
            .limit((max_matches + 1) * len(fields))
            .subquery()
        )
        out.append(
            select(Customer.id, Customer.name_search, hits.c.field)
            .join(hits, hits.c.customer_id == Customer.id)
            .distinct()
        )
    return out


async def _summaries(
    session: Any, ids: list[str], matched: dict[str, tuple[str, list[str]]]
) -> list[CustomerSummary]:
    customers = {c.id: c for c in await session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    phones: dict[str, list[str]] = {i: [] for i in ids}
    for p in await session.scalars(select(Phone).where(Phone.customer_id.in_(ids)).order_by(Phone.id)):
        phones[p.customer_id].append(p.e164 or p.raw)
    vehicles: dict[str, list[VehicleCard]] = {i: [] for i in ids}
    for v in await session.scalars(select(Vehicle).where(Vehicle.customer_id.in_(ids)).order_by(Vehicle.id)):
        vehicles[v.customer_id].append(VehicleCard(v.id, v.vin, v.plate, v.model, v.year))
    return [
        CustomerSummary(
            id=cid,
            name=customers[cid].name,
            kind=customers[cid].kind,
            tax_id=customers[cid].tax_id,
            phones=phones[cid],
            vehicles=vehicles[cid],
            matched=tuple(dict.fromkeys(matched[cid][1])),
        )
        for cid in ids
        if cid in customers
    ]
