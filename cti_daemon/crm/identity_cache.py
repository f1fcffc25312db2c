"""The identification cache: E.164 number -> the owners' cards, for a while (TTL), in this process.

Our own writes invalidate it: the importers, and the journal (`invalidate(customer_id)` once a contact
changes a customer's history). Writes by another process (another daemon on the same PostgreSQL, the
`cti-daemon import` command) are seen when the entry expires, so the TTL bounds how stale a card can be.
An answer read before an invalidation is not stored after it (the generation check), so a slow read
cannot bring back what an import has just replaced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cti_daemon.crm.cards import CustomerCard


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    cards: tuple[CustomerCard, ...]


class IdentityCache:
    def __init__(
        self, *, ttl_s: float = 60.0, max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._numbers_of: dict[str, set[str]] = {}  # customer id -> cached numbers that show them
        self.generation = 0  # bumped by every invalidation
        self.hits = 0
        self.misses = 0

    def get(self, e164: str) -> tuple[CustomerCard, ...] | None:
        entry = self._entries.get(e164)
        if entry is None:
            self.misses += 1
            return None
        if entry.expires <= self._clock():
            self._drop(e164)
            self.misses += 1
            return None
        self.hits += 1
        return entry.cards

    def put(self, e164: str, cards: Iterable[CustomerCard], *, generation: int) -> None:
        """Store what was read while the cache was at `generation`; dropped if it was invalidated since."""
        if self.ttl_s <= 0 or generation != self.generation:
            return
        if e164 in self._entries:
            self._drop(e164)
        elif len(self._entries) >= self.max_entries:
            self._drop(next(iter(self._entries)))  # the oldest entry: dicts keep insertion order
        held = tuple(cards)
        self._entries[e164] = _Entry(self._clock() + self.ttl_s, held)
        for card in held:
            self._numbers_of.setdefault(card.id, set()).add(e164)

    def invalidate(self, *keys: str) -> None:
        """Forget what is cached for each key, read as an E.164 number and as a customer id."""
        self.generation += 1
        for key in keys:
            if key in self._entries:
                self._drop(key)
            for e164 in self._numbers_of.pop(key, set()):
                self._drop(e164)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._numbers_of.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, e164: str) -> None:
        entry = self._entries.pop(e164, None)
        if entry is None:
            return
        for card in entry.cards:
            numbers = self._numbers_of.get(card.id)
            if numbers is not None:
                numbers.discard(e164)
                if not numbers:
                    del self._numbers_of[card.id]
