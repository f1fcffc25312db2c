"""Who is calling: a caller id in, the customer card(s) of the screen pop out.

Never raises for bad input: a number that is withheld, internal or not a number is unidentified with the
reason, and so is every number while the store is unreachable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cti_daemon.crm.cards import CardReader, CustomerCard, DocumentCard, VehicleCard
from cti_daemon.crm.identity_cache import IdentityCache
from cti_daemon.crm.numbers import NumberInfo, NumberRules
from cti_daemon.crm.store import Store, StoreUnavailableError

__all__ = ["CustomerCard", "DocumentCard", "Identification", "Identifier", "VehicleCard"]

Clock = Callable[[], datetime]
_NUMBER_MEMO_MAX = 20_000


@dataclass(frozen=True, slots=True)
class Identification:
    number: NumberInfo
    candidates: list[CustomerCard] = field(default_factory=list)  # latest contact first
    reason: str | None = None  # why nobody was identified
    cached: bool = False  # answered from the in-process cache

    @property
    def identified(self) -> bool:
        return bool(self.candidates)

    @property
    def customer(self) -> CustomerCard | None:
        """The caller: the number's one owner, or of several the most likely (see `customer_guess`)."""
        return self.candidates[0] if self.candidates else None

    @property
    def customer_guess(self) -> bool:
        """Several customers own the number: `customer` is the most likely of them (the one reception last
        confirmed for this number, else the latest contact), a guess until reception confirms it."""
        return len(self.candidates) > 1


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Identifier:
    def __init__(
        self,
        store: Store,
        rules: NumberRules,
        *,
        clock: Clock = _utcnow,
        cache: IdentityCache | None = None,
    ) -> None:
        self._rules = rules
        self._clock = clock
        self._reader = CardReader(store)
        self.cache = cache if cache is not None else IdentityCache(ttl_s=0)
        # Parsing a number with phonenumbers costs tens of microseconds; callers repeat.
        self._numbers: dict[str, NumberInfo] = {}

    async def identify(self, raw: str | None) -> Identification:
        """Never raises for bad input; a store outage gives an unidentified result with the reason."""
        known = self.identify_now(raw)
        if known is not None:
            return known
        info = self.classify(raw)  # memoised: identify_now has just parsed it
        e164 = info.e164
        if e164 is None:  # identify_now has answered these; this tells the type checker
            return Identification(info, reason=info.reason)
        generation = self.cache.generation
        try:
            cards = await self._reader.for_number(e164, self._clock())
        except StoreUnavailableError as exc:
            return Identification(info, reason=f"customer store unavailable ({exc})")
        self.cache.put(e164, cards, generation=generation)
        return self._result(info, cards, cached=False)

    def identify_now(self, raw: str | None) -> Identification | None:
        """`identify` when it needs no waiting (no number to look up, a cached answer, an SQLite read on
        the loop); None when only `identify` can tell. The ring path pops at once with it."""
        info = self.classify(raw)
        if info.e164 is None:
            return Identification(info, reason=info.reason)
        cached = self.cache.get(info.e164)
        if cached is not None:
            return self._result(info, list(cached), cached=True)
        generation = self.cache.generation
        try:
            cards = self._reader.for_number_now(info.e164, self._clock())
        except StoreUnavailableError as exc:
            return Identification(info, reason=f"customer store unavailable ({exc})")
        if cards is None:
            return None
        self.cache.put(info.e164, cards, generation=generation)
        return self._result(info, cards, cached=False)

    def invalidate(self, *keys: str) -> None:
        """Forget cached cards by E.164 number or customer id (the journal calls this after a write)."""
        self.cache.invalidate(*keys)

    def classify(self, raw: str | None) -> NumberInfo:
        key = raw or ""
        info = self._numbers.get(key)
        if info is None:
            if len(self._numbers) >= _NUMBER_MEMO_MAX:
                self._numbers.clear()
            info = self._numbers[key] = self._rules.classify(raw)
        return info

    @staticmethod
    def _result(info: NumberInfo, cards: list[CustomerCard], *, cached: bool) -> Identification:
        if not cards:
            return Identification(info, reason="number not in the customer store", cached=cached)
        return Identification(info, cards, cached=cached)
