"""The facts of each call, from the tracker's events and app_queue's caller events (pure): when it rang,
when and where it was answered, when it ended, and whether a queue caller gave up. A call's summary comes
out when it ends; routing/call_facts.py writes it on the call's contact."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from cti_daemon.ami.call_events import CallAnswered, CallEnded, CallEvent, CallRinging


@dataclass(slots=True)
class _Open:
    call_id: str
    number: str = ""
    name: str = ""
    rang_at: datetime | None = None
    rang: list[str] = field(default_factory=list)
    answered_at: datetime | None = None
    answered_ext: str | None = None
    queue: str | None = None
    queued_at: datetime | None = None
    abandoned: bool = False


@dataclass(frozen=True, slots=True)
class CallSummary:
    call_id: str
    number: str
    name: str
    rang_at: datetime | None  # the first ring at an extension, else when the caller joined a queue
    rang: tuple[str, ...]  # the extensions that rang, in order
    answered_at: datetime | None
    answered_ext: str | None
    ended_at: datetime
    cause: int
    queue: str | None
    abandoned: bool  # the caller gave up in a queue (QueueCallerAbandon)

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def outcome(self) -> str:
        if self.answered:
            return "answered"
        return "abandoned" if self.abandoned else "missed"

    @property
    def answer_s(self) -> int | None:
        return _seconds(self.rang_at, self.answered_at)

    @property
    def talk_s(self) -> int | None:
        return _seconds(self.answered_at, self.ended_at)

    @property
    def wait_s(self) -> int | None:
        """How long an unanswered caller waited before the call ended."""
        return None if self.answered else _seconds(self.rang_at, self.ended_at)


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))


class CallLedger:
    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}

    def __len__(self) -> int:
        return len(self._open)

    def observe(self, events: Iterable[CallEvent], now: datetime) -> list[CallSummary]:
        done: list[CallSummary] = []
        for event in events:
            if isinstance(event, CallRinging):
                call = self._open.setdefault(event.call_id, _Open(event.call_id))
                call.number, call.name = call.number or event.caller.number, call.name or event.caller.name
                call.rang_at = call.rang_at or now
                if event.extension not in call.rang:
                    call.rang.append(event.extension)
            elif isinstance(event, CallAnswered):
                talking = self._open.get(event.call_id)
                if talking is not None and talking.answered_at is None:
                    talking.answered_at, talking.answered_ext = now, event.extension
            elif isinstance(event, CallEnded):
                ended = self._open.pop(event.call_id, None)
                if ended is not None:
                    done.append(_summary(ended, now, event.cause))
        return done

    def queue_joined(self, call_id: str, queue: str, number: str, name: str, now: datetime) -> None:
        call = self._open.setdefault(call_id, _Open(call_id))
        call.queue, call.queued_at = queue, now
        call.number, call.name = call.number or number, call.name or name
        call.rang_at = call.rang_at or now

    def queue_abandoned(self, call_id: str, queue: str, now: datetime) -> None:
        call = self._open.setdefault(call_id, _Open(call_id, rang_at=now))
        call.queue, call.abandoned = queue, True


def _summary(call: _Open, ended_at: datetime, cause: int) -> CallSummary:
    return CallSummary(
        call.call_id,
        call.number,
        call.name,
        call.queued_at or call.rang_at,
        tuple(call.rang),
        call.answered_at,
        call.answered_ext,
        ended_at,
        cause,
        call.queue,
        call.abandoned and call.answered_at is None,
    )
