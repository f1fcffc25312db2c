"""Generated import files: believable customers with phones written every way, vehicles, and bad rows of
every kind at known lines."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

HEADER = [
    "customer_id", "name", "kind", "tax_id", "phones", "vin", "plate", "model", "year",
    "crm_service", "crm_sales", "crm_parts",
]  # fmt: skip
_FIRST = ["Иван", "Ольга", "Dmitry", "Elena", "Алексей", "Мария", "Sergey", "Анна", "Пётр", "Tatiana"]
_LAST = ["Петров", "Иванов", "Sidorov", "Кузнецов", "Popov", "Соколов", "Morozov", "Семёнов", "Fedorov"]
_PLATE = "АВЕКМНОРСТУХ"
_VIN = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

# (what is wrong, the row's fields, the reason's expected start)
BAD_KINDS = [
    ("no name", {"name": ""}, "name is empty"),
    ("no id", {"customer_id": ""}, "customer_id is empty"),
    ("letters for a phone", {"phones": "call me"}, "phones: 'call me' is not a customer's number"),
    ("an extension", {"phones": "201"}, "phones: '201' is not a customer's number (internal extension)"),
    ("bad VIN", {"vin": "VIN#123!"}, "vin: 'VIN#123!' is not a VIN"),
    ("year", {"year": "19x5"}, "year: '19x5' is not a model year"),
    ("superscript year", {"year": "²⁰²⁰"}, "year: '²⁰²⁰' is not a model year"),  # isdigit(), not int()
    ("kind", {"kind": "alien"}, "kind 'alien' is neither person nor company"),
    ("short row", None, "3 fields where the header has 12"),
]


@dataclass
class Generated:
    path: Path
    rows: int
    customers: dict[str, list[str]] = field(default_factory=dict)  # id -> its numbers as written
    names: dict[str, str] = field(default_factory=dict)
    bad: dict[int, str] = field(default_factory=dict)  # line -> the reason's expected start


def _phone(rng: random.Random, n: int) -> tuple[str, str]:
    digits = f"9{rng.randint(10, 99)}{n:07d}"  # unique by n: a mobile number
    ways = [
        f"8{digits}",
        f"+7 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
        digits,
        f"007{digits}",
    ]
    return ways[n % 4], f"+7{digits}"


def customers_csv(path: Path, rows: int, *, bad_every: int = 100, seed: int = 1) -> Generated:
    """`rows` data rows; every `bad_every`-th is bad (1%); every 7th customer has a second vehicle row."""
    rng = random.Random(seed)
    out = Generated(path, rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        n = 0
        second: dict[str, str] | None = None
        for i in range(rows):
            line = i + 2
            if i % bad_every == bad_every - 1:
                _what, change, reason = BAD_KINDS[(i // bad_every) % len(BAD_KINDS)]
                if change is None:
                    writer.writerow(["c-bad", "Broken", "person"])
                else:
                    writer.writerow([dict(_row(rng, 10**7 - line), **change)[h] for h in HEADER])
                out.bad[line] = reason
                continue
            if second is not None:  # a customer's second vehicle: the same customer, another row
                writer.writerow([second[h] for h in HEADER])
                second = None
                continue
            n += 1
            row = _row(rng, n)
            out.customers[row["customer_id"]] = row["phones"].split(";")
            out.names[row["customer_id"]] = row["name"]
            writer.writerow([row[h] for h in HEADER])
            if n % 7 == 0:
                second = dict(row, vin=_vin(rng), plate=_plate(rng), model="Kia Rio", year="2021")
    return out


def _row(rng: random.Random, n: int) -> dict[str, str]:
    raw, _e164 = _phone(rng, n)
    phones = raw if n % 5 else f"{raw};+7 495 {n % 1000:03d}-{n // 1000 % 100:02d}-{n % 97:02d}"
    company = n % 11 == 0
    return {
        "customer_id": f"crm-{n:07d}",
        "name": f"ООО «Вектор-{n}»" if company else f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "kind": "company" if company else "person",
        "tax_id": f"77{n:08d}" if company else "",
        "phones": phones,
        "vin": _vin(rng),
        "plate": _plate(rng),
        "model": rng.choice(["VW Polo", "Skoda Octavia", "Toyota Camry", "Lada Vesta"]),
        "year": str(rng.randint(2005, 2025)),
        "crm_service": rng.choice(["active", "lapsed", ""]),
        "crm_sales": rng.choice(["lead", "customer", ""]),
        "crm_parts": "",
    }


def _vin(rng: random.Random) -> str:
    return "".join(rng.choice(_VIN) for _ in range(17))


def _plate(rng: random.Random) -> str:
    a, b, c = (rng.choice(_PLATE) for _ in range(3))
    return f"{a}{rng.randint(100, 999)}{b}{c}{rng.choice(['77', '97', '199'])}"
