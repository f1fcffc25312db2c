"""The composition root: builds every adapter from typed config, injects them, owns their lifetimes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError

from cti_daemon import logs
from cti_daemon.ami.call_events import CallEvent
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.resync import Resync
from cti_daemon.ami.tracker import CallTracker
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
from cti_daemon.api import purposes as purposes_api
from cti_daemon.api import reports as reports_api
from cti_daemon.api import sessions as sessions_api
from cti_daemon.api import sources
from cti_daemon.api import transfers as transfers_api
from cti_daemon.api.auth import TokenBook
from cti_daemon.api.health import Component, HealthProbe
from cti_daemon.api.metrics import DaemonMetrics, DeliveryFigures
from cti_daemon.api.routes import Route
from cti_daemon.api.server import ApiServer, tls_context
from cti_daemon.api.session_book import SessionBook
from cti_daemon.api.signin_limits import SignInLimits
from cti_daemon.config import Config
from cti_daemon.crm.accounts import list_accounts
from cti_daemon.crm.call_facts_store import callbacks
from cti_daemon.crm.cards import CustomerCards
from cti_daemon.crm.followups_store import FollowUpStore
from cti_daemon.crm.identify import Identifier
from cti_daemon.crm.identity_cache import IdentityCache
from cti_daemon.crm.journal_store import JournalStore
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.purposes import PurposeCatalog, load_catalog
from cti_daemon.crm.reports import call_report
from cti_daemon.crm.schema import head as schema_head
from cti_daemon.crm.search import CustomerSearch
from cti_daemon.crm.spool import Spool
from cti_daemon.crm.staff import list_staff
from cti_daemon.crm.store import Store, StoreError, open_store
from cti_daemon.mqtt import payloads
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.mqtt.outbound import AgentOutbound
from cti_daemon.mqtt.topics import Topics
from cti_daemon.routing.call_actions import PbxNews
from cti_daemon.routing.call_facts import CallFacts
from cti_daemon.routing.click_to_dial import ClickToDial
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.due_postponements import DuePostponements, every
from cti_daemon.routing.followups import FollowUps
from cti_daemon.routing.journal import JournalService
from cti_daemon.routing.journal_transfers import JournalTransfers
from cti_daemon.routing.journal_writer import JournalWriter
from cti_daemon.routing.outbound_contacts import OutboundContacts
from cti_daemon.routing.presence import PresenceBook
from cti_daemon.routing.presence_service import PresenceService
from cti_daemon.routing.ring_contacts import RingContacts
from cti_daemon.routing.screen_pop import ScreenPopService
from cti_daemon.routing.transfer_book import TransferBook
from cti_daemon.routing.transfers import TransferService
from cti_daemon.routing.visibility import purposes_of
from cti_daemon.routing.waiting_queue import WaitingQueue
from cti_daemon.systemd import Notifier
from cti_daemon.timefmt import utcnow

log = logs.get("cti.app")

DIRECTORY_REFRESH_S = 60.0


class Daemon:
    """`async with Daemon(config) as daemon:` runs everything until the block ends."""

    def __init__(
        self, config: Config, *, clock: Callable[[], datetime] = utcnow, notifier: Notifier | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.notifier = notifier or Notifier()
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()
        self.started_at = clock()
        topics = Topics(config.mqtt.topic_prefix)
        node = config.mqtt.node_id
        self.topics = topics

        self.store: Store = open_store(config.database.url, lookup_timeout_s=config.database.lookup_timeout_s)
        self.directory = LineDirectory(internal_max_digits=config.phone.internal_max_digits)
        rules = NumberRules(
            config.phone.default_region,
            international_prefixes=config.phone.international_prefix,
            internal_max_digits=config.phone.internal_max_digits,
        )
        self.identifier = Identifier(
            self.store,
            rules,
            clock=clock,
            cache=IdentityCache(
                ttl_s=config.database.identify_cache_ttl_s,
                max_entries=config.database.identify_cache_max_entries,
            ),
        )
        self.search = CustomerSearch(self.store, rules)  # GET /api/v1/customers?q=
        self.cards = CustomerCards(self.store)  # GET /api/v1/customers/{id}
        self.metrics = DaemonMetrics()
        identify = self.metrics.timed(self.identifier.identify)
        self.mqtt = MqttLink(
            config.mqtt,
            status_topic=topics.daemon_status(node),
            offline_payload=payloads.daemon_status(
                online=False, ami_connected=False, since=clock(), node_id=node
            ),
        )
        self.outbound = AgentOutbound(self.mqtt, topics, node)
        self.tracker = CallTracker(self.directory)
        # The journal: contacts registered at ring time and over HTTP, spooled while the store is away.
        self.catalog = PurposeCatalog.builtin()  # replaced by the store's once it answers
        journal_store = JournalStore(self.store)
        self.writer = JournalWriter(
            journal_store,
            Spool(Path(config.routing.spool_file)),
            invalidate=self.identifier.invalidate,
            replayed=lambda record: self.outbound.traffic(contact_id=record.id, contact=contact_json(record)),
        )
        self.ring_contacts = RingContacts(
            writer=self.writer,
            out=self.outbound,
            clock=clock,
            node_id=node,
            reception=config.routing.reception_extensions,
        )
        self.pops = ScreenPopService(
            directory=self.directory,
            identify=identify,
            identify_now=self.metrics.timed_now(self.identifier.identify_now),
            out=self.outbound,
            clock=clock,
            contacts=self.ring_contacts,
        )
        self.journal = JournalService(
            writer=self.writer,
            ring=self.ring_contacts,
            catalog=lambda: self.catalog,
            cards=self.cards,
            rules=rules,
            out=self.outbound,
            clock=clock,
            node_id=node,
            reception_staff=self._reception_staff,
        )
        self.queue = WaitingQueue(
            journal=journal_store,
            catalog=lambda: self.catalog,
            reception_staff=self._reception_staff,
            out=self.outbound,
            clock=clock,
            node_id=node,
            interval_s=config.routing.queue_reminder_s,
            customer_name=self.journal.customer_name,
        )
        self.due_postponements = DuePostponements(
            store=self.store,
            journal=journal_store,
            catalog=lambda: self.catalog,
            ring=self.ring_contacts,
            out=self.outbound,
            clock=clock,
            node_id=node,
            customer_name=self.journal.customer_name,
        )
        self.call_facts = CallFacts(
            store=self.store,
            journal=journal_store,
            writer=self.writer,
            ring=self.ring_contacts,
            directory=self.directory,
            rules=rules,
            out=self.outbound,
            clock=clock,
            node_id=node,
            settled=self.pops.idle,
        )
        self.outbound_contacts = OutboundContacts(
            store=self.store,
            journal=journal_store,
            writer=self.writer,
            facts=self.call_facts,
            rules=rules,
            out=self.outbound,
            clock=clock,
            node_id=node,
        )
        self.followups = FollowUps(
            store=FollowUpStore(self.store),
            catalog=lambda: self.catalog,
            out=self.outbound,
            clock=clock,
            max_attempts=config.routing.followup_max_attempts,
        )
        self.presence = PresenceService(PresenceBook(config.routing.custom_statuses), self.outbound, clock)
        self._journal_store = journal_store
        # After every (re)login the tracker is corrected from Asterisk's lists and the corrections published.
        self.resync = Resync(self.tracker, self._on_call_events)
        self.ami = AmiLink(
            config.ami, on_event=self._on_ami_event, on_state=self._on_ami_state, on_session=self.resync
        )
        # Transfers and click to dial act through AMI and believe what the tracker's events then report.
        self.pbx_news = PbxNews()
        routing = config.routing
        self.journal_transfers = JournalTransfers(
            journal=self.journal, store=journal_store, ring=self.ring_contacts, clock=clock
        )
        self.transfers = TransferService(
            link=self.ami,
            views=self.tracker,
            directory=self.directory,
            book=TransferBook(),
            out=self.outbound,
            news=self.pbx_news,
            clock=clock,
            context=routing.attended_transfer_context,
            confirm_s=routing.transfer_confirm_s,
            observer=self.journal_transfers,
            contact_facts=self.journal_transfers.contact_facts,
            presence_of=self._presence_note,
        )
        self.journal_transfers.service = self.transfers
        self.journal.transfer = self.journal_transfers.put_through
        self.click_to_dial = ClickToDial(
            link=self.ami,
            views=self.tracker,
            directory=self.directory,
            news=self.pbx_news,
            context=routing.attended_transfer_context,
            confirm_s=routing.transfer_confirm_s,
        )
        self.health = HealthProbe(
            [
                Component("ami", lambda: self.ami.connected, lambda: self.ami.since),
                Component("mqtt", lambda: self.mqtt.connected, lambda: self.mqtt.since),
            ],
            self.store.ping,
            extra=lambda: {
                "node_id": node,
                "mqtt_outbox": self.mqtt.outbox_depth,
                "journal_spool": len(self.writer.spool),
            },
        )
        self.metrics.watch(self._delivery_figures, self.health)
        tokens = TokenBook.load(config.http.tokens_file) if config.http.tokens_file else None
        sc = config.sessions
        self.sessions = SessionBook(
            self.store,
            idle_s=sc.idle_s,
            max_s=sc.max_s,
            limits=SignInLimits(
                per_login=sc.signin_limit_per_login,
                per_address=sc.signin_limit_per_address,
                window_s=sc.signin_window_s,
            ),
            clock=clock,
        )
        self.api = ApiServer(
            listen=config.http.listen,
            routes=self._api_routes(identify),
            tokens=tokens,
            max_body_bytes=config.http.max_body_bytes,
            sessions=self.sessions,
            trusted_proxies=config.http.trusted_proxies,
            tls=tls_context(config.http.tls_cert, config.http.tls_key),
        )

    def reload_tokens(self) -> bool:
        """SIGHUP: re-read http.tokens_file; no call or pop is dropped (ApiServer.reload_tokens)."""
        return self.api.reload_tokens(self.config.http.tokens_file)

    def _api_routes(self, identify: lookup_api.IdentifyFn) -> list[Route]:
        """Every HTTP feature, one module each; a new endpoint is one more line here."""
        return [
            *health_api.routes(self.health),
            *sessions_api.routes(self.sessions),
            *accounts_api.routes(lambda: list_accounts(self.store)),
            *metrics_api.routes(self.metrics, self.health),
            *lookup_api.routes(identify),
            *lines_api.routes(lambda: sources.line_views(self.tracker, self.directory)),
            *calls_api.routes(lambda: sources.call_views(self.tracker)),
            *employees_api.routes(
                lambda: list_staff(self.store),
                lambda ext: sources.line_status(self.tracker, ext),
                presence=self._presence_of,
                load=self._journal_store.load_by_employee,
            ),
            *customers_api.routes(self.search, self.cards),
            *contacts_api.routes(self.journal, purposes_of=lambda e: purposes_of(self.catalog, e)),
            *purposes_api.routes(lambda: self.catalog),
            *transfers_api.routes(self.transfers),
            *callbacks_api.routes(lambda: callbacks(self.store)),
            *followups_api.routes(self.followups, purposes_of=lambda e: purposes_of(self.catalog, e)),
            *reports_api.routes(lambda a, b, g: call_report(self.store, a, b, g), self.clock),
            *originate_api.routes(
                self.click_to_dial, owner_of=self.directory.employee_at, journal=self.outbound_contacts
            ),
        ]

    def _presence_of(self, employee_id: str) -> employees_api.PresenceView | None:
        seen = self.presence.book.get(employee_id)
        if seen is None:
            return None
        return employees_api.PresenceView(seen.status, seen.note or None, seen.client == "online")

    def _presence_note(self, employee_id: str) -> tuple[str, str] | None:
        seen = self.presence.book.get(employee_id)
        return (seen.status, seen.note) if seen is not None else None

    def _reception_staff(self) -> list[str]:
        found = (self.directory.employee_at(ext) for ext in self.config.routing.reception_extensions)
        return [e for e in found if e is not None]

    def _delivery_figures(self) -> DeliveryFigures:
        stats = self.mqtt.stats
        return DeliveryFigures(
            published=stats.published,
            dropped_stale=stats.dropped_stale,
            dropped_overflow=stats.dropped_overflow,
            connects=stats.connects,
            outbox_depth=self.mqtt.outbox_depth,
            outbox_limit=self.config.mqtt.outbox_limit,
            pops_published=self.pops.pops_published,
            journal_spooled=len(self.writer.spool),
            ami_malformed=self.ami.stats()["malformed"],
        )

    # --- wiring --------------------------------------------------------------------------------------
    def _on_ami_event(self, msg: AmiMessage) -> None:
        self.metrics.ami_events.inc()
        self.call_facts.on_ami(msg)
        self.outbound_contacts.on_ami(msg)
        events = self.tracker.handle(msg)
        if events:
            self._on_call_events(events)

    def _on_call_events(self, events: Iterable[CallEvent]) -> None:
        events = list(events)
        self.call_facts.observe(events)  # first: the ring's contact is still known when a call ends
        self.outbound_contacts.observe(events)
        self.pops.submit(events)
        self.transfers.observe(events)
        self.pbx_news.tick()

    def _on_ami_state(self, connected: bool) -> None:
        self.outbound.daemon_status(online=True, ami_connected=connected, since=self.clock())

    # --- lifetime ------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        try:
            self._stack.push_async_callback(self.store.dispose)
            await self._check_schema()
            await self._load_directory()
            self.outbound.daemon_status(online=True, ami_connected=False, since=self.clock())
            self.presence.listen(self.mqtt, self.topics)
            await self._stack.enter_async_context(self.mqtt)
            await self._stack.enter_async_context(self.ami)
            self._stack.push_async_callback(self.transfers.close)
            self._stack.push_async_callback(self.click_to_dial.close)
            await self._stack.enter_async_context(self.api)
            self._tasks.append(asyncio.create_task(self._refresh_directory(), name="directory-refresh"))
            self._tasks.append(asyncio.create_task(self._tell_systemd(), name="systemd"))
            self._tasks.append(asyncio.create_task(self.writer.run_replay(), name="spool-replay"))
            self._tasks.append(asyncio.create_task(self.queue.run(), name="waiting-queue"))
            due_s = self.config.routing.due_check_s
            self._tasks.append(
                asyncio.create_task(every(due_s, self.due_postponements.tick, "postponements"), name="due")
            )
            self._tasks.append(
                asyncio.create_task(every(due_s, self.followups.tick, "followups"), name="due-followups")
            )
        except BaseException:
            await self._stack.aclose()
            raise
        # What start-up built (modules, phone metadata, adapters) lives as long as the daemon: keep it out of
        # the collector's full passes, which cost 20-40 ms on that heap and would land on a pop or a lookup.
        gc.collect()  # garbage first: what is frozen is never collected
        gc.freeze()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.notifier.stopping()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pops.idle(), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ring_contacts.idle(), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.call_facts.idle(), 2.0)
        await self._stack.aclose()
        log.info("daemon.stopped")

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Until AMI, MQTT and the store have all been up at once (what READY=1 tells systemd)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _check_schema(self) -> None:
        try:
            revision = await self.store.schema_revision()
        except (StoreError, OSError):
            return  # the store's absence is reported by the directory and the health probe
        if revision != schema_head():
            log.warning(
                "store.schema_outdated",
                revision=revision,
                expected=schema_head(),
                fix="cti-daemon db upgrade",
            )

    async def _load_directory(self) -> bool:
        try:
            owners = await self.store.line_owners()
        except (StoreError, OSError, DBAPIError) as exc:  # DBAPIError: e.g. a schema not created yet
            reason = str(exc).splitlines()[0]
            log.warning("directory.unavailable", reason=reason, effect="pops wait for the employee list")
            return False
        self.directory.replace(owners)
        try:
            self.catalog = await load_catalog(self.store)
        except (StoreError, OSError, DBAPIError) as exc:
            log.warning("purposes.unavailable", reason=str(exc).splitlines()[0])
        log.info("directory.loaded", employees=len(owners), purposes=len(self.catalog.purposes))
        return True

    async def _refresh_directory(self) -> None:
        while True:
            await asyncio.sleep(DIRECTORY_REFRESH_S)
            await self._load_directory()

    async def _tell_systemd(self) -> None:
        """READY=1 once AMI, MQTT and the store are up; then WATCHDOG=1 while the loop turns."""
        waiting_for = ""
        while True:
            missing = [
                name for name, up in (("AMI", self.ami.connected), ("MQTT", self.mqtt.connected)) if not up
            ]
            if not missing and await self.store.ping():
                break
            now_waiting = ", ".join(missing) or "database"
            if now_waiting != waiting_for:
                waiting_for = now_waiting
                self.notifier.status(f"waiting for {now_waiting}")
                log.info("daemon.waiting", waiting_for=now_waiting)
            await asyncio.sleep(0.1)
        self.notifier.ready("AMI, MQTT and database up")
        self._ready.set()
        log.info("daemon.ready", node_id=self.config.mqtt.node_id)
        interval = self.notifier.watchdog_interval_s
        if interval is None:
            return
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)
