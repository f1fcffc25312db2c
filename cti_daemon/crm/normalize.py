"""Search keys: how names, phones, VINs and plates are stored for search and how a query is read.

A key is what both sides of a comparison are reduced to, so that "ПЕТРОВ", "петров" and "Петров" match,
"Семёнов" matches "семенов", and a plate written with Cyrillic letters (А123ВС77, as on the plate) matches
the same plate typed on a Latin keyboard (A123BC77). Pure functions; the store keeps the keys in columns
beside the values as entered.
"""

from __future__ import annotations

import re

# The twelve Cyrillic letters Russian plates use all have a Latin twin of the same shape; VINs are Latin
# only, so a Cyrillic letter typed into a VIN search is one of these too.
_CYRILLIC_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХавекмнорстух", "ABEKMHOPCTYXABEKMHOPCTYX")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_SPACES = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"\D")


NAME_KEY_MAX = 300  # the length of customers.name_search (models.py takes it from here)


def name_key(name: str) -> str:
    """Case-folded, ё read as е, runs of spaces as one: 'Семёнов  ПЁТР' -> 'семенов петр'. At most
    NAME_KEY_MAX characters: case folding can lengthen a name ('ß' -> 'ss') past its column."""
    return _SPACES.sub(" ", name.casefold().replace("ё", "е")).strip()[:NAME_KEY_MAX]


def plate_key(plate: str) -> str:
    """Latin capitals and digits only: 'а 123 вс 77' and 'A123BC-77' -> 'A123BC77'."""
    return _NOT_ALNUM.sub("", plate.upper().translate(_CYRILLIC_LOOKALIKES))


def vin_key(vin: str) -> str:
    """Same reading as a plate: VINs are Latin capitals and digits."""
    return plate_key(vin)


def digits(text: str) -> str:
    return _NOT_DIGIT.sub("", text)


def phone_key(raw: str, e164: str | None) -> str:
    """The digits of the number in E.164 and, when they differ, as entered: '79161234567 89161234567'.

    A fragment typed either way ("7916123", "8916123", "123-45-67") is then a substring of the key.
    """
    international = digits(e164 or "")
    entered = digits(raw)
    if not international:
        return entered
    if not entered or entered == international or entered in international:
        return international
    return f"{international} {entered}"
