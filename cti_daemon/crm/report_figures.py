"""A call report key's figures as sums and whole-second histograms, which add up across spans: a cached
day's employee or purpose row plus the live edges of a span give exactly the row of the whole span
(crm/report_cache.py). Nearest rank as README.md defines it: the smallest value with at least p of the
values at or below it, the comparison crm/reports.py makes in SQL (a float p * n against a count)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cti_daemon.crm.reports import ReportRow, report_row


def nearest_rank(hist: Counter[int], p: float) -> int | None:
    n = sum(hist.values())
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= p * n:
            return value
    return None


def hist_text(hist: Counter[int]) -> str | None:
    """Compact JSON, seconds ascending: {"12":40,"13":2}; None when nothing was counted."""
    if not hist:
        return None
    return json.dumps({str(v): hist[v] for v in sorted(hist)}, separators=(",", ":"))


def hist_of(text: str | None) -> Counter[int]:
    return Counter({int(v): int(n) for v, n in json.loads(text).items()}) if text else Counter()


@dataclass(slots=True)
class KeyFigures:
    offered: int = 0
    answered: int = 0
    missed: int = 0
    abandoned: int = 0
    talk_sum: int = 0
    talk_n: int = 0
    callbacks: int = 0
    answers: Counter[int] = field(default_factory=Counter)  # answer seconds of answered calls -> calls
    backs: Counter[int] = field(default_factory=Counter)  # callback seconds of called-back calls -> calls

    def add_group(self, group: Any) -> None:
        """One row of reports.call_groups: within it every call shares its answer and callback seconds."""
        offered = int(group.offered)
        self.offered += offered
        self.answered += int(group.answered)
        self.missed += int(group.missed)
        self.abandoned += int(group.abandoned)
        self.talk_sum += int(group.talk_sum or 0)
        self.talk_n += int(group.talk_n or 0)
        self.callbacks += int(group.callbacks)
        if group.a is not None:
            self.answers[int(group.a)] += offered
        if group.b is not None:
            self.backs[int(group.b)] += offered

    def add_cached(self, row: Any) -> None:
        """A cached day's row (models.CallReportDay's columns)."""
        self.offered += int(row.offered)
        self.answered += int(row.answered)
        self.missed += int(row.missed)
        self.abandoned += int(row.abandoned)
        self.talk_sum += int(row.talk_sum)
        self.talk_n += int(row.talk_n)
        self.callbacks += int(row.callbacks)
        self.answers.update(hist_of(row.answer_hist))
        self.backs.update(hist_of(row.callback_hist))

    @property
    def p50(self) -> int | None:
        return nearest_rank(self.answers, 0.5)

    @property
    def p90(self) -> int | None:
        return nearest_rank(self.answers, 0.9)

    @property
    def back_p50(self) -> int | None:
        return nearest_rank(self.backs, 0.5)

    def row(self, key: str) -> ReportRow:
        return report_row(key, self)
