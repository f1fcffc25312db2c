"""Follow-up calls' rules (seed 000, issue 14 item 4), pure: what each attempt's outcome does.

A follow-up is open until an attempt closes it: `reached` makes it done, `declined` declined (the
customer does not want it), `wrong_number` wrong_number; `no_answer` and `busy` keep it open until the
configured maximum of attempts, which ends it `unreachable`; `call_back_later` keeps it open with a new
due time (required, in the future)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OUTCOMES = ("reached", "no_answer", "busy", "wrong_number", "declined", "call_back_later")
CLOSING = {"reached": "done", "declined": "declined", "wrong_number": "wrong_number"}
STATUSES = ("open", "done", "declined", "wrong_number", "unreachable")


class AttemptRefused(Exception):  # noqa: N818 - a refusal of the request
    def __init__(self, message: str, *, field: str, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.conflict = conflict


@dataclass(frozen=True, slots=True)
class AfterAttempt:
    status: str
    attempts: int
    due_at: datetime


def after_attempt(
    *,
    status: str,
    attempts: int,
    due_at: datetime,
    outcome: str,
    next_due_at: datetime | None,
    now: datetime,
    max_attempts: int,
) -> AfterAttempt:
    if status != "open":
        raise AttemptRefused(f"the follow-up is {status}: no more attempts", field="outcome", conflict=True)
    if outcome not in OUTCOMES:
        raise AttemptRefused(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    if next_due_at is not None and next_due_at < now:
        raise AttemptRefused("next_due_at is in the past", field="next_due_at")
    count = attempts + 1
    if outcome in CLOSING:
        return AfterAttempt(CLOSING[outcome], count, due_at)
    if outcome == "call_back_later":
        if next_due_at is None:
            raise AttemptRefused("call_back_later needs next_due_at, when to call again", field="next_due_at")
        return AfterAttempt("open", count, next_due_at)
    if count >= max_attempts:
        return AfterAttempt("unreachable", count, due_at)
    return AfterAttempt("open", count, next_due_at or due_at)
