"""A believable dealership store for the demo and the tests: customers with cars and open documents,
a few numbers shared by two customers (a family, a company and its director), and the staff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cti_daemon.crm.models import Contact, Customer, Document, Employee, EmployeePurpose, Phone, Vehicle
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.store import Store
from cti_daemon.ids import uuid7

EMPLOYEES = [
    ("e-100", "Anna Smirnova", "asmirnova", "100", "other service showroom shop feedback"),
    ("e-201", "Pavel Orlov", "porlov", "201", "service"),
    ("e-202", "Irina Volkova", "ivolkova", "202", "showroom"),
    ("e-203", "Sergey Lebedev", "slebedev", "203", "shop service"),
]

# (first name, is female); surnames are given in the male form and take "a" for women (Petrov, Petrova).
_FIRST = [
    ("Ivan", False),
    ("Olga", True),
    ("Dmitry", False),
    ("Elena", True),
    ("Alexey", False),
    ("Natalia", True),
    ("Sergey", False),
    ("Maria", True),
    ("Andrey", False),
    ("Tatiana", True),
    ("Mikhail", False),
    ("Anna", True),
    ("Игорь", False),
    ("Людмила", True),
    ("Виктор", False),
]
_LAST = [
    "Petrov",
    "Ivanov",
    "Sidorov",
    "Kuznetsov",
    "Popov",
    "Sokolov",
    "Morozov",
    "Novikov",
    "Fedorov",
    "Pavlov",
    "Семёнов",
    "Егоров",
    "Козлов",
    "Васильев",
]
_COMPANIES = [
    "LLC Northern Logistics",
    "Taxi Comfort",
    "ООО «Автопарк-7»",
    "Stroymontazh JSC",
    "Delivery Club",
]
_MODELS = [
    ("VW Polo", "XW8ZZZ61Z"),
    ("Kia Rio", "Z94CB41A"),
    ("Skoda Octavia", "TMBJG7NE"),
    ("Hyundai Solaris", "Z94K241C"),
    ("Toyota Camry", "XW7BF4FK"),
    ("Lada Vesta", "XTAGFL11"),
]
_PLATE_LETTERS = "АВЕКМНОРСТУХ"
_DOC_KINDS = [
    ("repair_order", "service", "RO"),
    ("sale", "showroom", "SA"),
    ("parts_order", "shop", "PO"),
    ("complaint", "feedback", "CM"),
]
_STATUSES = {
    "service": ["active", "lapsed", "new"],
    "sales": ["lead", "customer", "—"],
    "parts": ["customer"],
}


@dataclass(frozen=True, slots=True)
class SeedSummary:
    customers: int
    known_numbers: list[str]  # caller ids (as a PBX would send them) that belong to seeded customers
    shared_numbers: list[str]  # numbers owned by two customers
    unknown_numbers: list[str]  # valid numbers nobody owns


def _vin(rng: random.Random, prefix: str) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return (prefix + "".join(rng.choice(alphabet) for _ in range(17)))[:17]


def _plate(rng: random.Random) -> str:
    letters = [rng.choice(_PLATE_LETTERS) for _ in range(3)]
    return (
        f"{letters[0]}{rng.randint(100, 999)}{letters[1]}{letters[2]}{rng.choice(['77', '97', '177', '799'])}"
    )


async def seed_demo(
    store: Store, *, customers: int = 60, seed: int = 7, now: datetime | None = None
) -> SeedSummary:
    """Fill an empty store. Deterministic for a given seed, so tests can name what they expect."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    rules = NumberRules("RU")
    known: list[str] = []
    shared: list[str] = []
    rows: list[object] = []
    for emp_id, name, login, ext, purposes in EMPLOYEES:
        rows.append(Employee(id=emp_id, name=name, login=login, extension=ext, devices=f"PJSIP/{ext}"))
        rows.extend(EmployeePurpose(employee_id=emp_id, purpose_code=code) for code in purposes.split())
    previous_number: str | None = None
    for i in range(customers):
        cid = f"c-{i + 1:05d}"
        company = i % 12 == 5
        first, female = rng.choice(_FIRST)
        name = rng.choice(_COMPANIES) if company else f"{first} {rng.choice(_LAST)}{'a' if female else ''}"
        customer = Customer(
            id=cid,
            name=name,
            kind="company" if company else "person",
            tax_id=f"77{rng.randint(10**7, 10**8 - 1)}" if company else None,
            crm_service=rng.choice(_STATUSES["service"]),
            crm_sales=rng.choice(_STATUSES["sales"]),
            crm_parts=rng.choice(_STATUSES["parts"]) if i % 3 == 0 else None,
        )
        rows.append(customer)
        # Every 10th customer shares the previous customer's number (a family phone, a company line).
        if i % 10 == 9 and previous_number is not None:
            number = previous_number
            shared.append(number)
        else:
            number = f"8916{rng.randint(10**6, 10**7 - 1)}"
            known.append(number)
        previous_number = number
        written = [number, f"+7 ({number[1:4]}) {number[4:7]}-{number[7:9]}-{number[9:]}", number[1:]][i % 3]
        rows.append(Phone(customer_id=cid, raw=written, e164=rules.e164(written), kind="mobile"))
        for _ in range(1 + (i % 4 == 0)):
            model, wmi = rng.choice(_MODELS)
            rows.append(
                Vehicle(
                    id=uuid7(),
                    customer_id=cid,
                    vin=_vin(rng, wmi),
                    plate=_plate(rng),
                    model=model,
                    year=rng.randint(2012, 2025),
                )
            )
        for j in range(1 + (i % 5 == 0)):
            kind, purpose, prefix = rng.choice(_DOC_KINDS)
            rows.append(
                Document(
                    id=f"d-{i + 1:05d}-{j}",
                    customer_id=cid,
                    kind=kind,
                    number=f"{prefix}-{1000 + i * 2 + j}",
                    status="open" if (i + j) % 4 != 3 else "closed",
                    purpose=purpose,
                    owner_employee_id=rng.choice(["e-201", "e-202", "e-203"]),
                    opened_at=now - timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23)),
                )
            )
        rows.extend(
            Contact(
                id=uuid7(),
                type="call",
                status="finalized",
                customer_id=cid,
                caller_phone=number,
                caller_e164=rules.e164(number),
                created_at=now - timedelta(days=rng.randint(1, 120)),
            )
            for _ in range(rng.randint(0, 3))
        )
    # Contacts have no ORM relationship to customers, so nothing orders their inserts after them: flush first.
    contacts = [row for row in rows if isinstance(row, Contact)]
    async with store.session() as session, session.begin():
        session.add_all([row for row in rows if not isinstance(row, Contact)])
        await session.flush()
        session.add_all(contacts)
    unknown = [f"8495{rng.randint(10**6, 10**7 - 1)}" for _ in range(10)]
    return SeedSummary(customers, known, sorted(set(shared)), unknown)
