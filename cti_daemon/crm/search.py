"""Search the customer store by any part of a name, a phone number, a VIN or a plate.

The query language is the Communication Centre's (seed 002): `=value` matches a whole value exactly;
a value with `%` is a LIKE pattern (`Mar%` starts with, `%ria` ends with, `%ari%` contains; `_` is any one
character); a value without either matches any part of a value (`ari` = `%ari%`). Case does not matter,
ё reads as е, and a plate's Cyrillic letters equal their Latin look-alikes (А123ВС77 = A123BC77). A part
must be at least 3 letters or digits long, which is also what the trigram indexes need.

The terms are always bound parameters. PostgreSQL answers from pg_trgm GIN indexes on the search keys,
SQLite from FTS5 trigram indexes, one per field group (`migrations/sqlite_search.py`). At most
`max_matches` customers are considered per search; past that the page says `capped` and the receptionist
types more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, column, func, literal, select, table

from cti_daemon.crm.cards import VehicleCard
from cti_daemon.crm.migrations.sqlite_search import FTS_TABLES
from cti_daemon.crm.models import Customer, Phone, Vehicle
from cti_daemon.crm.normalize import digits, name_key, plate_key, vin_key
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.store import Store

MIN_PART = 3
MAX_QUERY = 200
MAX_LIMIT = 200
_PHONE_TEXT = re.compile(r"^[\d\s()+\-.%_]+$")
# What a VIN or a plate can be typed with: Latin letters, digits, the Cyrillic look-alikes, separators.
_CAR_TEXT = re.compile(r"^[0-9A-Za-zАВЕКМНОРСТУХавекмнорстух\s\-.%_]+$")

_search_terms = table("search_terms", column("id"), column("customer_id"), column("field"), column("value"))


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
    keys: list[tuple[str, Callable[[str], str]]] = [("name", name_key)]
    if _PHONE_TEXT.match(text) and any(c.isdigit() for c in text):
        keys.append(("phone", digits))
    if _CAR_TEXT.match(text):  # not for "Иван Пет%" or "-307»", whose letters no VIN or plate has
        keys += [("vin", vin_key), ("plate", plate_key)]
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
    if _CAR_TEXT.match(value):
        terms += [_Term("vin", "exact", vin_key(value)), _Term("plate", "exact", plate_key(value))]
    return terms


class CustomerSearch:
    def __init__(self, store: Store, rules: NumberRules, *, max_matches: int = 500) -> None:
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
        matched: dict[str, tuple[str, list[str]]] = {}
        async with self._store.session() as session:
            if self._store.dialect == "sqlite":
                capped = await _sqlite_candidates(session, terms, self.max_matches, matched)
            else:
                capped = await _generic_candidates(session, terms, self.max_matches, matched)
            capped = capped or len(matched) > self.max_matches
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


Matched = dict[str, tuple[str, list[str]]]  # customer id -> (name key, fields that matched)


def _keep(matched: Matched, rows: Any) -> None:
    for cid, name, fld in rows:
        matched.setdefault(cid, (name, []))[1].append(fld)


def _table_query(term: _Term) -> Select[str, str, str]:
    """The customers a term finds through the tables' search keys (B-tree for `=`, else pg_trgm GIN)."""
    column_of = {
        "name": Customer.name_search,
        "phone": Phone.e164 if term.mode == "exact" else Phone.digits,
        "vin": Vehicle.vin,
        "plate": Vehicle.plate_key,
    }[term.field]
    cond = column_of == term.value if term.mode == "exact" else column_of.like(term.value)
    if term.field == "name":
        return select(Customer.id, Customer.name_search, literal("name")).where(cond)
    # Driven by the matching phones or vehicles: with `customers.id IN (...)` PostgreSQL misjudges how few
    # rows a trigram LIKE finds and scans all customers for a hash join (100 ms instead of 5).
    owner = Phone.customer_id if term.field == "phone" else Vehicle.customer_id
    return (
        select(Customer.id, Customer.name_search, literal(term.field))
        .select_from(Phone if term.field == "phone" else Vehicle)
        .join(Customer, Customer.id == owner)
        .where(cond)
    )


async def _generic_candidates(session: Any, terms: list[_Term], max_matches: int, matched: Matched) -> bool:
    for term in terms:
        _keep(matched, await session.execute(_table_query(term).limit(max_matches + 1)))
    return False


async def _sqlite_candidates(session: Any, terms: list[_Term], max_matches: int, matched: Matched) -> bool:
    """`=` through the tables' B-tree indexes; patterns through the FTS5 trigram index of their fields,
    read first and at most so far (a common fragment like "ова" must not read 100,000 index entries)."""
    for term in terms:
        if term.mode == "exact":
            _keep(matched, await session.execute(_table_query(term).limit(max_matches + 1)))
    groups: dict[tuple[str, str], list[str]] = {}
    for term in terms:
        if (
            term.mode == "like"
        ):  # the index ignores case: fields whose patterns differ only by case share a read
            groups.setdefault((FTS_TABLES[term.field], term.value.casefold()), []).append(term.field)
    capped = False
    for (fts_name, pattern), fields in groups.items():
        fts = table(fts_name, column("rowid"), column("value"))
        bound = (max_matches + 1) * 2  # a customer may hold a pattern twice (two phones, VIN and plate)
        ids = (
            (await session.execute(select(fts.c.rowid).where(fts.c.value.like(pattern)).limit(bound)))
            .scalars()
            .all()
        )
        capped = capped or len(ids) >= bound
        if not ids:
            continue
        found = select(func.json_each(json.dumps(ids)).table_valued("value").c.value)
        if fields == ["name"]:  # a name term's value is the name key: no need to visit the customers
            query = select(_search_terms.c.customer_id, _search_terms.c.value, _search_terms.c.field)
        else:
            query = select(Customer.id, Customer.name_search, _search_terms.c.field).join(
                _search_terms, _search_terms.c.customer_id == Customer.id
            )
        _keep(
            matched,
            await session.execute(
                query.where(_search_terms.c.id.in_(found), _search_terms.c.field.in_(fields))
            ),
        )
    return capped


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
