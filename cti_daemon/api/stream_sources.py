"""What the stream's snapshot reads from the daemon's live state and the journal (adapters, like
api/sources.py), so api/stream.py takes plain callables and never the daemon."""

from __future__ import annotations

from typing import Any

from cti_daemon import logs
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.api import calls as calls_api
from cti_daemon.api import sources
from cti_daemon.api.stream import StreamSources
from cti_daemon.crm.journal_store import Filters
from cti_daemon.crm.staff import list_staff
from cti_daemon.crm.store import Store, StoreError
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.journal import JournalService
from cti_daemon.routing.journal_errors import JournalUnavailable
from cti_daemon.stream.audience import Viewer

log = logs.get("cti.api.stream")

SNAPSHOT_CONTACTS = 100


def stream_sources(
    *, tracker: CallTracker, directory: LineDirectory, journal: JournalService, store: Store
) -> StreamSources:
    def lines() -> list[dict[str, Any]]:
        return [
            {
                "v": 1,
                "extension": view.extension,
                "status": view.status,
                "employee_id": view.employee_id,
                "call_id": view.call_id,
                "since": None,
            }
            for view in sources.line_views(tracker, directory)
        ]

    def calls() -> list[dict[str, Any]]:
        return [calls_api.as_json(view) for view in sources.call_views(tracker)]

    async def contacts(viewer: Viewer) -> list[dict[str, Any]]:
        asks = [Filters(status="open", limit=SNAPSHOT_CONTACTS)] if viewer.sees_all else []
        if not viewer.sees_all and viewer.employee_id is not None:
            asks.append(Filters(status="open", employee=viewer.employee_id, limit=SNAPSHOT_CONTACTS))
            asks.extend(
                Filters(status="open", purpose=code, limit=SNAPSHOT_CONTACTS)
                for code in sorted(viewer.purposes)
            )
        found: dict[str, dict[str, Any]] = {}
        try:
            for filters in asks:
                for record in await journal.query(filters):
                    found[record.id] = contact_json(record)
        except JournalUnavailable as exc:
            log.warning("stream.contacts_unavailable", reason=str(exc), effect="the snapshot has no contacts")
        return sorted(found.values(), key=lambda c: (c["created_at"] or "", c["id"]), reverse=True)

    async def seat(employee_id: str) -> tuple[str | None, frozenset[str]]:
        extension = directory.extension_of_employee(employee_id)
        try:
            staff = await list_staff(store)
        except (StoreError, OSError) as exc:
            log.warning("stream.purposes_unavailable", employee_id=employee_id, reason=str(exc))
            return extension, frozenset()
        for row in staff:
            if row.id == employee_id:
                return extension or row.extension, frozenset(row.purposes)
        return extension, frozenset()

    return StreamSources(lines=lines, calls=calls, contacts=contacts, seat=seat)
