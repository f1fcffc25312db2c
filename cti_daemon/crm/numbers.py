"""Phone number rules: what a caller id is (a customer's number, an extension, withheld) and its E.164 form.

RU example with default_region RU: 89161234567, 8 (916) 123-45-67, +7 916 123 45 67, 007916..., 8107916...
and 9161234567 are all +79161234567.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers


class NumberKind(StrEnum):
    EXTERNAL = "external"  # a number a customer can own; e164 is set
    INTERNAL = "internal"  # an extension of our own PBX
    WITHHELD = "withheld"  # the caller hid the number, or the PBX does not know it
    INVALID = "invalid"  # something that is not a phone number


@dataclass(frozen=True, slots=True)
class NumberInfo:
    raw: str
    kind: NumberKind
    e164: str | None
    reason: str | None  # why it cannot identify a customer; None for EXTERNAL

    @property
    def external(self) -> bool:
        return self.kind is NumberKind.EXTERNAL


# What PBXes and carriers put in the caller id when there is no number to show.
WITHHELD_FORMS = frozenset(
    {
        "",
        "anonymous",
        "<unknown>",
        "unknown",
        "private",
        "restricted",
        "withheld",
        "unavailable",
        "blocked",
        "no caller id",
        "nocallerid",
        "<anonymous>",
        "s",
    }
)

_SEPARATORS = str.maketrans("", "", " \t-().\u00a0/")
_MAX_RAW = 64


class NumberRules:
    def __init__(
        self,
        default_region: str = "RU",
        *,
        international_prefixes: Iterable[str] = ("00", "810"),
        internal_max_digits: int = 5,
    ) -> None:
        self.region = default_region.upper()
        # Longest first so "810" wins over a hypothetical "8".
        self._idd = sorted(international_prefixes, key=len, reverse=True)
        self._internal_max = internal_max_digits

    def classify(self, raw: str | None) -> NumberInfo:
        text = (raw or "").strip()
        if text.lower() in WITHHELD_FORMS:
            return NumberInfo(text, NumberKind.WITHHELD, None, "number withheld" if text else "no caller id")
        if len(text) > _MAX_RAW:
            return NumberInfo(text[:_MAX_RAW], NumberKind.INVALID, None, "too long to be a phone number")
        compact = text
        if compact.lower().startswith(("sip:", "tel:")):
            compact = compact[4:].split("@", 1)[0].split(";", 1)[0]
        compact = compact.translate(_SEPARATORS)
        digits = compact[1:] if compact.startswith("+") else compact
        if not digits.isdigit() or not digits.isascii():
            return NumberInfo(text, NumberKind.INVALID, None, "not a phone number")
        if not compact.startswith("+") and len(digits) <= self._internal_max:
            return NumberInfo(text, NumberKind.INTERNAL, None, "internal extension")
        e164 = self._to_e164(compact)
        if e164 is None:
            return NumberInfo(text, NumberKind.INVALID, None, f"not a valid number for region {self.region}")
        return NumberInfo(text, NumberKind.EXTERNAL, e164, None)

    def e164(self, raw: str | None) -> str | None:
        return self.classify(raw).e164

    def _to_e164(self, compact: str) -> str | None:
        candidates = [compact]
        if not compact.startswith("+"):
            for prefix in self._idd:
                if compact.startswith(prefix) and len(compact) > len(prefix) + 6:
                    candidates.insert(0, "+" + compact[len(prefix) :])
                    break
        for candidate in candidates:
            try:
                parsed = phonenumbers.parse(candidate, self.region)
            except phonenumbers.NumberParseException:
                continue
            # Possible, not necessarily valid: a new number range the metadata does not know yet must still
            # find its customer.
            if phonenumbers.is_possible_number(parsed):
                return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return None
