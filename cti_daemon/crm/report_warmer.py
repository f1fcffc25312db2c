"""The daemon's task that keeps the call report's cache of closed days filled (crm/report_cache.py):
soon after start, and again after each UTC midnight, every grouping's closed days of the last 400 days
that the cache lacks are computed, a few days per step with a pause between, so that a person's first
report over the year reads the cache rather than a year of contacts. A store that is away is tried again
a little later."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from cti_daemon import logs
from cti_daemon.crm.models import Contact
from cti_daemon.crm.report_cache import CallReports, cached_days, days_between, midnight, runs
from cti_daemon.crm.reports import GROUPINGS
from cti_daemon.crm.store import StoreError

log = logs.get("cti.crm.report_cache")

DAYS_BACK = 400  # the report's longest span (api/reports.py MAX_SPAN)
RETRY_S = 60.0
PAUSE_S = 0.05  # between steps: the journal's writes and the event loop come first
START_DELAY_S = 30.0  # the daemon's start (logins, the directory, the first rings) goes first
AFTER_MIDNIGHT_S = 600.0  # calls that rang before midnight have ended by then; a later change is refilled


class ReportCacheWarmer:
    def __init__(
        self,
        reports: CallReports,
        *,
        days_back: int = DAYS_BACK,
        retry_s: float = RETRY_S,
        pause_s: float = PAUSE_S,
        start_delay_s: float = START_DELAY_S,
        after_midnight_s: float = AFTER_MIDNIGHT_S,
    ) -> None:
        self._reports = reports
        self._days_back = days_back
        self._retry_s = retry_s
        self._pause_s = pause_s
        self._start_delay_s = start_delay_s
        self._after_midnight_s = after_midnight_s

    async def warm(self) -> int:
        """Fill what is missing now; the number of days stored (for any grouping)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        today = self._reports.today()
        first = max(today - timedelta(days=self._days_back), await self._first_day() or today)
        stored: set[date] = set()
        for grouping in GROUPINGS:
            there = await cached_days(self._reports.store, grouping, first, today)
            for run in runs(set(days_between(first, today)) - there, self._reports.days_per_fill):
                if await self._reports.fill(grouping, run):
                    stored.update(run)
                await asyncio.sleep(self._pause_s)
        log.info("report_cache.filled", days=len(stored), seconds=round(loop.time() - started, 3))
        return len(stored)

    async def run(self) -> None:
        await asyncio.sleep(self._start_delay_s)
        while True:
            try:
                await self.warm()
            except (StoreError, DBAPIError, OSError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("report_cache.fill_failed", reason=reason, retry_in_s=self._retry_s)
                await asyncio.sleep(self._retry_s)
                continue
            await asyncio.sleep(self._until_next_midnight_s())

    def _until_next_midnight_s(self) -> float:
        now = self._reports.now()
        after = midnight(now.astimezone(UTC).date() + timedelta(days=1))
        return (after - now).total_seconds() + self._after_midnight_s

    async def _first_day(self) -> date | None:
        """The day of the oldest contact: the days before it have nothing to cache."""
        async with self._reports.store.session() as session:
            oldest: datetime | None = await session.scalar(select(func.min(Contact.created_at)))
        if oldest is None:
            return None
        # SQLite gives back the stored UTC text as a naive datetime.
        return (oldest if oldest.tzinfo is None else oldest.astimezone(UTC)).date()
