"""Customer search by any part of a name, phone, VIN or plate, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from cti_daemon.crm.models import Customer, Phone, Vehicle
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.search import CustomerSearch, SearchError
from cti_daemon.crm.store import Store

RULES = NumberRules("RU")

PEOPLE = [
    # id, name, phone as entered, (VIN, plate)
    ("c-1", "Мария Петрова", "8 (916) 123-45-67", ("XW8ZZZ61ZKG012345", "А123ВС77")),
    ("c-2", "Maria Ivanova", "+7 926 555 01 02", ("Z94CB41AAGR323232", "K777OT199")),
    ("c-3", "Marina Sokolova", "89031112233", ("TMBJG7NE0F0123456", "Е001КХ97")),
    ("c-4", "Пётр Семёнов", "+7 495 765-43-21", ("XTAGFL110LY404040", "M404MM77")),
    ("c-5", "ООО «Автопарк-7»", "84957654322", (None, "Р555РР50")),
    ("c-6", "Darya Kozlova", "+44 20 7946 0958", ("WVWZZZ1KZ9W111111", None)),
]


@pytest.fixture
async def people(store: Store) -> Store:
    async with store.session() as session, session.begin():
        for cid, name, _phone, _vehicle in PEOPLE:
            session.add(Customer(id=cid, name=name, kind="company" if "ООО" in name else "person"))
        await session.flush()
        for cid, _name, phone, (vin, plate) in PEOPLE:
            session.add(Phone(customer_id=cid, raw=phone, e164=RULES.e164(phone)))
            session.add(Vehicle(customer_id=cid, vin=vin, plate=plate, model="Car"))
    return store


async def ids(store: Store, q: str, **kw: int) -> list[str]:
    page = await CustomerSearch(store, RULES).search(q, **kw)
    return [c.id for c in page.items]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("петров", ["c-1"]),  # any part of a name, any case
        ("ПЕТРОВА", ["c-1"]),
        ("семенов", ["c-4"]),  # ё is е
        ("ari", ["c-2", "c-3"]),  # inside a word, ordered by name
        ("ova", ["c-6", "c-2", "c-3"]),
        ("автопарк", ["c-5"]),
    ],
)
async def test_given_a_name_fragment_then_every_customer_whose_name_holds_it(
    people: Store, q: str, expected: list[str]
) -> None:
    assert await ids(people, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("1234567", ["c-1"]),  # the subscriber part
        ("916123", ["c-1"]),
        ("8916123", ["c-1"]),  # as Russians dial it, with the trunk 8
        ("+7 916 123", ["c-1"]),
        ("123-45-67", ["c-1"]),
        ("7654", ["c-5", "c-4"]),  # two numbers hold it; by name (ООО before Пётр)
        ("2079460958", ["c-6"]),  # a London number, national digits
    ],
)
async def test_given_a_phone_fragment_then_the_owners_of_numbers_holding_those_digits(
    people: Store, q: str, expected: list[str]
) -> None:
    assert await ids(people, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("kg0123", ["c-1"]),  # lower case, middle of a VIN
        ("zzz61", ["c-1"]),
        ("WVWZZZ1KZ9W111111", ["c-6"]),
        ("TMBJG", ["c-3"]),
    ],
)
async def test_given_a_vin_fragment_then_the_owner_of_that_vehicle(
    people: Store, q: str, expected: list[str]
) -> None:
    assert await ids(people, q) == expected


@pytest.mark.parametrize(
    "q",
    [
        "А123ВС77",  # all Cyrillic, as on the plate
        "A123BC77",  # all Latin, as typed on an English keyboard
        "А123BC77",  # mixed: Cyrillic А, Latin BC
        "a123вс",  # part of it, lower case, mixed
        "а 123 вс 77",  # with spaces
    ],
)
async def test_given_a_plate_in_cyrillic_or_latin_look_alikes_then_the_same_vehicle(
    people: Store, q: str
) -> None:
    assert await ids(people, q) == ["c-1"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Mari%", ["c-2", "c-3"]),  # starts with (Мария is written in Cyrillic)
        ("Мари%", ["c-1"]),
        ("%ova", ["c-6", "c-2", "c-3"]),  # ends with
        ("%arin%", ["c-3"]),  # contains
        ("m_ria%", ["c-2"]),  # _ is any one letter
        ("=maria ivanova", ["c-2"]),  # exact, case-insensitive
        ("=maria", []),  # exact means the whole value
        ("=+79161234567", ["c-1"]),  # exact number, in any writing
        ("=8 916 123-45-67", ["c-1"]),
        ("=a123bc77", ["c-1"]),  # exact plate
        ("=XW8ZZZ61ZKG012345", ["c-1"]),
        ("%777%", ["c-2"]),
    ],
)
async def test_given_like_patterns_and_exact_matches_as_in_the_communication_centre(
    people: Store, q: str, expected: list[str]
) -> None:
    assert await ids(people, q) == expected


async def test_given_many_matches_then_pages_follow_each_other_without_overlap(people: Store) -> None:
    search = CustomerSearch(people, RULES)
    first = await search.search("ova", limit=2)
    second = await search.search("ova", limit=2, offset=2)
    assert first.has_more and len(first.items) == 2
    assert not second.has_more and len(second.items) == 1
    everything = await search.search("ova", limit=50)
    assert [c.id for c in everything.items] == [c.id for c in first.items + second.items]
    assert everything.total == 3 and not everything.has_more


async def test_given_more_matches_than_a_search_considers_then_the_page_says_capped(people: Store) -> None:
    page = await CustomerSearch(people, RULES, max_matches=2).search("ova")
    assert page.capped and page.total == 2 and len(page.items) == 2


async def test_given_a_result_then_it_shows_numbers_vehicles_and_what_matched(people: Store) -> None:
    page = await CustomerSearch(people, RULES).search("a123bc")
    (hit,) = page.items
    assert hit.phones == ["+79161234567"] and hit.vehicles[0].plate == "А123ВС77"
    assert hit.matched == ("plate",)


async def test_given_changes_to_the_store_then_search_follows_them(people: Store) -> None:
    async with people.session() as session, session.begin():
        customer = await session.get(Customer, "c-3")
        assert customer is not None
        customer.name = "Marina Orlova"
        await session.execute(
            update(Vehicle).where(Vehicle.customer_id == "c-1").values(plate_key="B001BB77")
        )
        await session.execute(delete(Phone).where(Phone.customer_id == "c-4"))
    assert await ids(people, "orlova") == ["c-3"]
    assert await ids(people, "sokolova") == []
    assert await ids(people, "a123bc") == []
    assert await ids(people, "b001bb") == ["c-1"]
    assert await ids(people, "7654") == ["c-5"]
    async with people.session() as session, session.begin():
        await session.execute(delete(Customer).where(Customer.id == "c-1"))
    assert await ids(people, "петров") == []
    async with people.session() as session:
        assert (await session.scalars(select(Vehicle.id).where(Vehicle.customer_id == "c-1"))).all() == []


@pytest.mark.parametrize(
    ("q", "why"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("ab", "at least 3"),
        ("%a%", "at least 3"),
        ("=", "needs a value"),
        ("x" * 201, "longer than"),
    ],
)
async def test_given_queries_that_cannot_be_searched_then_a_clear_error(
    people: Store, q: str, why: str
) -> None:
    with pytest.raises(SearchError, match=why):
        await CustomerSearch(people, RULES).search(q)


@pytest.mark.parametrize(
    "q",
    ["'; DROP TABLE customers; --", "%' OR '1'='1", 'a") OR 1=1 --', "петров'--"],
)
async def test_given_sql_in_a_query_then_it_is_only_text_to_match(people: Store, q: str) -> None:
    assert await ids(people, q) == []
    assert await ids(people, "петров") == ["c-1"]  # the table is still there
