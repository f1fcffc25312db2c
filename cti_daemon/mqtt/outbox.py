"""The MQTT outbox: messages waiting for the broker, in the order queued, bounded.

When it is full, what matters least goes first: call events (`cti/calls/...`, a log for integrations),
then line states (retained: a later state of the same line supersedes them, and the link publishes the
line's current state again once the outbox has room), and only when nothing else is left the oldest pop,
notice or presence. Pops for a call that already ended are never sent at all (checked at send time).

Shed messages stay in the queue as dead entries until the pump passes them (O(1) per shed); the queue
is compacted when dead entries outnumber live ones, so memory stays bounded by twice the limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

Shed = Literal["call_event", "line"]  # in the order they are shed
SHED_ORDER: tuple[Shed, ...] = ("call_event", "line")
StillRelevant = Callable[[], bool]


@dataclass(slots=True, eq=False)
class Outgoing:
    topic: str
    payload: bytes
    retain: bool
    still_relevant: StillRelevant | None
    about: dict[str, str] | None = None  # log fields naming what this is (call_id, employee_id...)
    shed: Shed | None = None  # None: kept until nothing sheddable is left
    queued: bool = True  # False once sent, or shed


class Outbox:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._queue: deque[Outgoing] = deque()
        self._live = 0
        self._by_kind: dict[Shed, deque[Outgoing]] = {kind: deque() for kind in SHED_ORDER}

    def __len__(self) -> int:
        return self._live

    def __bool__(self) -> bool:
        return self._live > 0

    def __iter__(self) -> Iterator[Outgoing]:
        """The queued messages, in the order they will be sent."""
        return (item for item in self._queue if item.queued)

    def append(self, item: Outgoing) -> Outgoing | None:
        """Queue `item`; when full, first make room: the message given up (no longer queued), or None."""
        dropped = self._drop_one() if self._live >= self._limit else None
        item.queued = True
        self._queue.append(item)
        self._live += 1
        if item.shed is not None:
            self._by_kind[item.shed].append(item)
        return dropped

    def popleft(self) -> Outgoing:
        """The next message to send (the outbox must not be empty); it is no longer queued."""
        while True:
            item = self._queue.popleft()
            if item.queued:
                item.queued = False
                self._live -= 1
                return item

    def push_front(self, items: Iterable[Outgoing]) -> None:
        """Messages sent but not acknowledged, back at the front in the order given (after a reconnect)."""
        back = list(items)
        for item in back:
            item.queued = True
        self._queue.extendleft(reversed(back))
        self._live += len(back)

    def keep_only(self, keep: Callable[[Outgoing], bool]) -> None:
        """Give up every queued message `keep` refuses."""
        kept: deque[Outgoing] = deque()
        for item in self._queue:
            if item.queued and keep(item):
                kept.append(item)
            else:
                item.queued = False
        self._queue, self._live = kept, len(kept)
        for kind, refs in self._by_kind.items():
            self._by_kind[kind] = deque(item for item in refs if item.queued)

    def topics(self) -> set[str]:
        return {item.topic for item in self._queue if item.queued}

    def _drop_one(self) -> Outgoing:
        for kind in SHED_ORDER:
            refs = self._by_kind[kind]
            while refs:
                item = refs.popleft()
                if item.queued:
                    return self._give_up(item)
        while True:  # nothing sheddable: the oldest message, whatever it is
            item = self._queue.popleft()
            if item.queued:
                item.queued = False
                self._live -= 1
                return item

    def _give_up(self, item: Outgoing) -> Outgoing:
        item.queued = False
        self._live -= 1
        if len(self._queue) > 2 * max(self._live, 1) + 64:
            self._queue = deque(i for i in self._queue if i.queued)
        return item


def describe(item: Outgoing) -> dict[str, Any]:
    return {"dropped_topic": item.topic, **(item.about or {})}
