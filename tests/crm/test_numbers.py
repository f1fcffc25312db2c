"""Number rules, table-driven: one caller id in, its kind and E.164 form out, for five regions."""

from __future__ import annotations

import pytest

from cti_daemon.crm.numbers import NumberKind, NumberRules

# (region, international prefixes dialled there, caller id as a PBX may send it, E.164)
SAME_NUMBER = [
    # Russia: the trunk 8, the old 810 international prefix, 00, and no prefix at all.
    ("RU", ("00", "810"), "89161234567", "+79161234567"),
    ("RU", ("00", "810"), "8 (916) 123-45-67", "+79161234567"),
    ("RU", ("00", "810"), "+7 916 123 45 67", "+79161234567"),
    ("RU", ("00", "810"), "0079161234567", "+79161234567"),
    ("RU", ("00", "810"), "007 916 123-45-67", "+79161234567"),
    ("RU", ("00", "810"), "81079161234567", "+79161234567"),
    ("RU", ("00", "810"), "9161234567", "+79161234567"),
    ("RU", ("00", "810"), "79161234567", "+79161234567"),
    ("RU", ("00", "810"), "+7(916)1234567", "+79161234567"),
    ("RU", ("00", "810"), "8.916.123.45.67", "+79161234567"),
    ("RU", ("00", "810"), "tel:+79161234567", "+79161234567"),
    ("RU", ("00", "810"), "sip:89161234567@pbx.local", "+79161234567"),
    ("RU", ("00", "810"), "8 495 765-43-21", "+74957654321"),
    ("RU", ("00", "810"), "0044 20 7946 0958", "+442079460958"),
    # Spain: no trunk prefix, 00 abroad.
    ("ES", ("00",), "612 345 678", "+34612345678"),
    ("ES", ("00",), "+34 612 34 56 78", "+34612345678"),
    ("ES", ("00",), "0034612345678", "+34612345678"),
    ("ES", ("00",), "34612345678", "+34612345678"),
    ("ES", ("00",), "91 123 45 67", "+34911234567"),
    # The Netherlands: trunk 0.
    ("NL", ("00",), "06 12345678", "+31612345678"),
    ("NL", ("00",), "06-1234 5678", "+31612345678"),
    ("NL", ("00",), "+31 6 12345678", "+31612345678"),
    ("NL", ("00",), "0031 6 1234 5678", "+31612345678"),
    ("NL", ("00",), "020 123 4567", "+31201234567"),
    # Great Britain: trunk 0.
    ("GB", ("00",), "07700 900123", "+447700900123"),
    ("GB", ("00",), "+44 7700 900123", "+447700900123"),
    ("GB", ("00",), "0044 7700 900123", "+447700900123"),
    ("GB", ("00",), "(020) 7946 0958", "+442079460958"),
    ("GB", ("00",), "020 7946 0958", "+442079460958"),
    # The United States: trunk 1, 011 abroad.
    ("US", ("011",), "(202) 555-0143", "+12025550143"),
    ("US", ("011",), "202-555-0143", "+12025550143"),
    ("US", ("011",), "+1 202 555 0143", "+12025550143"),
    ("US", ("011",), "1-202-555-0143", "+12025550143"),
    ("US", ("011",), "12025550143", "+12025550143"),
    ("US", ("011",), "011 44 20 7946 0958", "+442079460958"),
    ("US", ("011",), "011 7 916 123 45 67", "+79161234567"),
]


@pytest.mark.parametrize(("region", "idd", "raw", "e164"), SAME_NUMBER)
def test_given_a_number_written_as_people_and_pbxes_write_it_then_one_e164(
    region: str, idd: tuple[str, ...], raw: str, e164: str
) -> None:
    info = NumberRules(region, international_prefixes=idd).classify(raw)
    assert (info.kind, info.e164, info.reason) == (NumberKind.EXTERNAL, e164, None)


@pytest.mark.parametrize(
    ("raw", "kind", "reason"),
    [
        (None, NumberKind.WITHHELD, "no caller id"),
        ("", NumberKind.WITHHELD, "no caller id"),
        ("   ", NumberKind.WITHHELD, "no caller id"),
        ("anonymous", NumberKind.WITHHELD, "number withheld"),
        ("Anonymous", NumberKind.WITHHELD, "number withheld"),
        ("<unknown>", NumberKind.WITHHELD, "number withheld"),
        ("unknown", NumberKind.WITHHELD, "number withheld"),
        ("Private", NumberKind.WITHHELD, "number withheld"),
        ("RESTRICTED", NumberKind.WITHHELD, "number withheld"),
        ("withheld", NumberKind.WITHHELD, "number withheld"),
        ("unavailable", NumberKind.WITHHELD, "number withheld"),
        ("100", NumberKind.INTERNAL, "internal extension"),
        ("2001", NumberKind.INTERNAL, "internal extension"),
        ("12345", NumberKind.INTERNAL, "internal extension"),
        ("Ivan Petrov", NumberKind.INVALID, "not a phone number"),
        ("+", NumberKind.INVALID, "not a phone number"),
        ("8916123456７", NumberKind.INVALID, "not a phone number"),  # a full-width digit
        ("1" * 80, NumberKind.INVALID, "too long to be a phone number"),
        ("+7 123", NumberKind.INVALID, "not a valid number for region RU"),
    ],
)
def test_given_caller_ids_that_are_no_customer_number_then_the_kind_and_the_reason(
    raw: str | None, kind: NumberKind, reason: str
) -> None:
    info = NumberRules("RU").classify(raw)
    assert (info.kind, info.e164, info.reason) == (kind, None, reason)


def test_given_a_shorter_internal_plan_then_six_digits_are_no_longer_internal() -> None:
    assert NumberRules("RU", internal_max_digits=3).classify("2001").kind is NumberKind.INVALID
    assert NumberRules("RU", internal_max_digits=3).classify("201").kind is NumberKind.INTERNAL
