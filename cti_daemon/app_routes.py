"""The HTTP routes of the daemon: every feature's module, given what it needs from the composition root.

Kept apart from `app.py` only for size: the daemon builds the services, this lists the endpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti_daemon.api import accounts as accounts_api
from cti_daemon.api import callbacks as callbacks_api
from cti_daemon.api import calls as calls_api
from cti_daemon.api import contacts as contacts_api
from cti_daemon.api import customers as customers_api
from cti_daemon.api import employees as employees_api
from cti_daemon.api import followups as followups_api
from cti_daemon.api import health as health_api
from cti_daemon.api import lines as lines_api
from cti_daemon.api import lookup as lookup_api
from cti_daemon.api import metrics as metrics_api
from cti_daemon.api import originate as originate_api
from cti_daemon.api import own_password, sources
from cti_daemon.api import presence as presence_api
from cti_daemon.api import purposes as purposes_api
from cti_daemon.api import reports as reports_api
from cti_daemon.api import sessions as sessions_api
from cti_daemon.api import stream as stream_api
from cti_daemon.api import transfers as transfers_api
from cti_daemon.api.routes import Route
from cti_daemon.api.stream_sources import stream_sources
from cti_daemon.crm.accounts import list_accounts
from cti_daemon.crm.call_facts_store import callbacks
from cti_daemon.crm.staff import list_staff
from cti_daemon.routing.visibility import purposes_of
from cti_daemon.web import pages

if TYPE_CHECKING:
    from cti_daemon.app import Daemon


def api_routes(d: Daemon, identify: lookup_api.IdentifyFn) -> list[Route]:
    """Every HTTP feature, one module each; a new endpoint is one more line here."""
    return [
        *health_api.routes(d.health),
        *sessions_api.routes(d.sessions),
        *own_password.routes(d.sessions),
        *accounts_api.routes(lambda: list_accounts(d.store), d.sessions, d.store),
        *metrics_api.routes(d.metrics, d.health),
        *lookup_api.routes(identify),
        *lines_api.routes(lambda: sources.line_views(d.tracker, d.directory)),
        *calls_api.routes(lambda: sources.call_views(d.tracker, d._contact_id_of)),
        *employees_api.routes(
            lambda: list_staff(d.store),
            lambda ext: sources.line_status(d.tracker, ext),
            presence=d._presence_of,
            load=d._journal_store.load_by_employee,
        ),
        *customers_api.routes(d.search, d.cards),
        *contacts_api.routes(d.journal, purposes_of=lambda e: purposes_of(d.catalog, e)),
        *purposes_api.routes(lambda: d.catalog),
        *transfers_api.routes(d.transfers, sources.CallSeats(d.tracker, d.directory)),
        *callbacks_api.routes(lambda: callbacks(d.store)),
        *followups_api.routes(d.followups, purposes_of=lambda e: purposes_of(d.catalog, e)),
        *reports_api.routes(d.reports.report, d.clock),
        *originate_api.routes(d.click_to_dial, owner_of=d.directory.employee_at, journal=d.outbound_contacts),
        *pages.routes(),
        *presence_api.routes(
            statuses=lambda: d.presence.book.statuses,
            everyone=d.presence.book.all,
            set_presence=d.presence.set,
        ),
        *stream_api.routes(
            d.stream,
            stream_sources(tracker=d.tracker, directory=d.directory, journal=d.journal, store=d.store),
        ),
    ]
