"""GET /api/v1/reports/calls?from=&to=&group=day|hour|employee|purpose[&format=csv]: the call report
(crm/reports.py; the columns are defined in README.md). Reception's and the admin's."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from cti_daemon.api import contact_input as read
from cti_daemon.api.errors import ApiError, bad_request
from cti_daemon.api.principal import Role, require
from cti_daemon.api.routes import Route, ok, query_text
from cti_daemon.crm.reports import COLUMNS, GROUPINGS, Grouping, ReportRow
from cti_daemon.crm.store import StoreUnavailableError

Report = Callable[[datetime, datetime, Grouping], Awaitable[list[ReportRow]]]
MAX_SPAN = timedelta(days=400)
DEFAULT_SPAN = timedelta(days=7)

ROW: dict[str, Any] = {
    "type": "object",
    "required": list(COLUMNS),
    "properties": {
        "key": {"type": "string"},
        **{n: {"type": "integer"} for n in ("offered", "answered", "missed", "abandoned", "callbacks")},
        "talk_total_s": {"type": "integer"},
        **{
            n: {"type": ["number", "null"]}
            for n in ("answer_rate", "answer_p50_s", "answer_p90_s", "talk_mean_s", "callback_median_s")
        },
    },
}


def as_csv(rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.as_dict().values()])
    return out.getvalue()


def routes(report: Report, clock: Callable[[], datetime]) -> list[Route]:
    async def calls(request: web.Request) -> web.Response:
        require(request, Role.RECEPTION)
        group = query_text(request, "group", required=False, max_len=16) or "day"
        if group not in GROUPINGS:
            raise bad_request(f"group must be one of {', '.join(GROUPINGS)}", field="group")
        form = query_text(request, "format", required=False, max_len=8) or "json"
        if form not in ("json", "csv"):
            raise bad_request("format must be json or csv", field="format")
        raw_to = query_text(request, "to", required=False, max_len=40)
        end = read.moment(raw_to, "to") if raw_to else clock()
        raw_from = query_text(request, "from", required=False, max_len=40)
        start = read.moment(raw_from, "from") if raw_from else end - DEFAULT_SPAN
        if start >= end:
            raise bad_request("from must be before to", field="from")
        if end - start > MAX_SPAN:
            raise bad_request(f"from and to may be at most {MAX_SPAN.days} days apart", field="from")
        try:
            rows = await report(start, end, group)
        except StoreUnavailableError as exc:
            raise ApiError(503, "store_unavailable", f"the journal's store is unavailable ({exc})") from None
        if form == "csv":
            name = f"calls-{group}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
            return web.Response(
                text=as_csv(rows),
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return ok(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "group": group,
                "rows": [r.as_dict() for r in rows],
            }
        )

    when = {"type": "string", "format": "date-time"}
    return [
        Route(
            "GET",
            "/api/v1/reports/calls",
            calls,
            "The call report: offered, answered, missed, abandoned, answer times, talk time, callbacks, "
            "per day, hour, employee or purpose (JSON, or CSV with format=csv)",
            {
                "200": {
                    "description": "the report's rows, sorted by key",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"rows": {"type": "array", "items": ROW}},
                            }
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                }
            },
            parameters=[
                {"name": "from", "in": "query", "schema": when},
                {"name": "to", "in": "query", "schema": when},
                {"name": "group", "in": "query", "schema": {"enum": list(GROUPINGS)}},
                {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}},
            ],
            tag="reports",
        )
    ]
