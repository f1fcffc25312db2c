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

from cti_daemon import logs
from cti_daemon.ami.call_events import CallEvent
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.frames import AmiMessage
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.resync import Resync
from cti_daemon.ami.tracker import CallTracker
from cti_daemon.api import employees as employees_api
from cti_daemon.api import lookup as lookup_api
from cti_daemon.api.auth import TokenBook
from cti_daemon.api.health import Component, HealthProbe
from cti_daemon.api.metrics import DaemonMetrics, DeliveryFigures
from cti_daemon.api.server import ApiServer, tls_context
from cti_daemon.api.session_book import SessionBook
from cti_daemon.api.signin_limits import SignInLimits
from cti_daemon.app_routes import api_routes
from cti_daemon.config import Config
from cti_daemon.crm import retention
from cti_daemon.crm.cards import CustomerCards
from cti_daemon.crm.identify import Identifier
from cti_daemon.crm.identity_cache import IdentityCache
from cti_daemon.crm.journal_store import JournalStore
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.purposes import PurposeCatalog
from cti_daemon.crm.report_cache import CallReports
from cti_daemon.crm.report_warmer import ReportCacheWarmer
from cti_daemon.crm.schema import head as schema_head
from cti_daemon.crm.search import CustomerSearch
from cti_daemon.crm.spool import Spool
from cti_daemon.crm.staff_directory import StaffDirectory
from cti_daemon.crm.store import Store, StoreError, open_store
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.mqtt.outbound import AgentOutbound
from cti_daemon.outbound import payloads
from cti_daemon.outbound.port import FanOut
from cti_daemon.outbound.topics import Topics
from cti_daemon.readiness import tell_systemd
from cti_daemon.routing.call_actions import PbxNews
from cti_daemon.routing.click_to_dial import ClickToDial
from cti_daemon.routing.contact_json import contact_json
from cti_daemon.routing.due_postponements import every
from cti_daemon.routing.journal import JournalService
from cti_daemon.routing.journal_followers import JournalFollowers
from cti_daemon.routing.journal_transfers import JournalTransfers
from cti_daemon.routing.journal_writer import JournalWriter
from cti_daemon.routing.presence import PresenceBook
from cti_daemon.routing.presence_service import PresenceService
from cti_daemon.routing.ring_contacts import RingContacts
from cti_daemon.routing.screen_pop import ScreenPopService
from cti_daemon.routing.transfer_book import TransferBook
from cti_daemon.routing.transfers import TransferService
from cti_daemon.routing.waiting_queue import WaitingQueue
from cti_daemon.stream.hub import StreamHub
from cti_daemon.stream.metrics import StreamCollector
from cti_daemon.supervisor import Supervisor
from cti_daemon.systemd import Notifier
from cti_daemon.timefmt import iso, utcnow

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
        self._ready = asyncio.Event()
        self.started_at = clock()
        topics = Topics(config.mqtt.topic_prefix)
        node = config.mqtt.node_id
        self.topics = topics

        self.store: Store = open_store(
            config.database.url,
            lookup_timeout_s=config.database.lookup_timeout_s,
            statement_timeout_s=config.database.statement_timeout_s,
        )
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
        # GET /api/v1/customers/{id}; GET /api/v1/reports/calls (its cache of closed days: __aenter__'s task)
        self.cards, self.reports = CustomerCards(self.store), CallReports(self.store, clock)
        self.metrics = DaemonMetrics()
        identify = self.metrics.timed(self.identifier.identify)
        self.mqtt = MqttLink(
            config.mqtt,
            status_topic=topics.daemon_status(node),
            offline_payload=payloads.daemon_status(
                online=False, ami_connected=False, since=clock(), node_id=node
            ),
        )
        # What agents are told goes out both ways: MQTT for agent clients, the stream for signed-in pages.
        self.stream = StreamHub(topics, node, name_of=self._customer_name)
        self.outbound = FanOut([AgentOutbound(self.mqtt, topics, node), self.stream])
        self.tracker = CallTracker(self.directory)
        # The journal: contacts registered at ring time and over HTTP, spooled while the store is away.
        self.catalog = PurposeCatalog.builtin()  # replaced by the store's once it answers
        journal_store = JournalStore(self.store)
        spool = Path(config.routing.spool_file)
        self.staff = StaffDirectory(
            self.store,
            self.directory,
            spool.with_name(spool.stem + ".employees.json"),  # beside the spool: read when the store is away
            on_catalog=self._set_catalog,
            on_employees=lambda ids: self.presence.employees_known(ids),  # noqa: PLW0108 - built below
            refresh_s=DIRECTORY_REFRESH_S,
        )
        self.writer = JournalWriter(
            journal_store,
            Spool(spool),
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
        # What follows a contact after its ring: due postponements, the PBX's times and missed calls,
        # click to dial's outbound contacts, follow-up calls (journal_followers.py builds them).
        followers = JournalFollowers.build(
            store=self.store,
            journal=journal_store,
            writer=self.writer,
            ring=self.ring_contacts,
            directory=self.directory,
            rules=rules,
            out=self.outbound,
            clock=clock,
            node_id=node,
            catalog=lambda: self.catalog,
            customer_name=self.journal.customer_name,
            settled=self.pops.settled,
            identify=self.identifier.identify,
            followup_max_attempts=config.routing.followup_max_attempts,
        )
        self.due_postponements, self.call_facts = followers.due_postponements, followers.call_facts
        self.outbound_contacts, self.followups = followers.outbound_contacts, followers.followups
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
            contact_of=self._contact_id_of,
            presence_of=self._presence_note,
            deflections=self.tracker,
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
            announce=self.tracker.expect_origination,
        )
        self.health = HealthProbe(
            [
                Component("ami", lambda: self.ami.health.up, lambda: self.ami.since, self._ami_details),
                Component("mqtt", lambda: self.mqtt.connected, lambda: self.mqtt.since),
            ],
            self.store.ping,
            extra=lambda: {
                "node_id": node,
                "mqtt_outbox": self.mqtt.outbox_depth,
                "journal_spool": self.writer.waiting,
            },
        )
        self.metrics.watch(self._delivery_figures, self.health)
        self.supervisor = Supervisor(on_restart=lambda name: self.metrics.task_restarts.labels(name).inc())
        self.metrics.registry.register(StreamCollector(self.stream))
        self.sessions = SessionBook(
            self.store,
            idle_s=config.sessions.idle_s,
            max_s=config.sessions.max_s,
            limits=SignInLimits(
                per_login=config.sessions.signin_limit_per_login,
                per_address=config.sessions.signin_limit_per_address,
                window_s=config.sessions.signin_window_s,
            ),
            clock=clock,
        )
        self.api = self._api_server(identify)

    def _api_server(self, identify: lookup_api.IdentifyFn) -> ApiServer:
        http = self.config.http
        return ApiServer(
            listen=http.listen,
            routes=api_routes(self, identify),
            tokens=TokenBook.load(http.tokens_file) if http.tokens_file else None,
            max_body_bytes=http.max_body_bytes,
            sessions=self.sessions,
            trusted_proxies=http.trusted_proxies,
            tls=tls_context(http.tls_cert, http.tls_key),
            header_timeout_s=http.header_timeout_s,
            body_timeout_s=http.body_timeout_s,
        )

    def reload_tokens(self) -> bool:
        """SIGHUP: re-read http.tokens_file; no call or pop is dropped (ApiServer.reload_tokens)."""
        return self.api.reload_tokens(self.config.http.tokens_file)

    def _presence_of(self, employee_id: str) -> employees_api.PresenceView | None:
        seen = self.presence.book.get(employee_id)
        if seen is None:
            return None
        return employees_api.PresenceView(seen.status, seen.note or None, seen.client == "online")

    def _contact_id_of(self, call_id: str) -> str | None:
        """The call's contact in the journal: the one its pops, call events and transfer notify carry."""
        record = self.ring_contacts.for_call(call_id)
        return record.id if record is not None else None

    def _set_catalog(self, catalog: PurposeCatalog) -> None:
        self.catalog = catalog

    async def _customer_name(self, customer_id: str) -> str | None:
        found = await self.cards.card(customer_id)
        return found.card.name if found is not None else None

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
            journal_spooled=self.writer.waiting,
            ami_malformed=self.ami.stats()["malformed"],
            ami_reason=self.ami.health.reason,
            shed_call_events=stats.shed_call_event,
            shed_lines=stats.shed_line,
        )

    def _ami_details(self) -> dict[str, object]:
        """/healthz's AMI part: why it is down (auth_failed, unreachable, booting, silent), the last error."""
        health = self.ami.health
        return {
            "reason": health.reason,
            "last_error": health.last_error,
            "last_error_at": iso(health.last_error_at) if health.last_error_at is not None else None,
        }

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
        health = self.ami.health
        self.outbound.daemon_status(
            online=True,
            ami_connected=connected,
            since=self.clock(),
            ami_reason=health.reason,
            ami_error_at=health.last_error_at,
        )

    # --- lifetime ------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        try:
            self._stack.push_async_callback(self.store.dispose)
            await self._check_schema()
            await self.staff.load()
            self.outbound.daemon_status(online=True, ami_connected=False, since=self.clock())
            self.presence.listen(self.mqtt, self.topics)
            await self._stack.enter_async_context(self.mqtt)
            await self._stack.enter_async_context(self.ami)
            self._stack.push_async_callback(self.transfers.close)
            self._stack.push_async_callback(self.click_to_dial.close)
            await self._stack.enter_async_context(self.api)
            # Long-lived work: each task that fails is logged, counted and started again.
            self.supervisor.start("directory-refresh", self.staff.run)
            self.supervisor.start("systemd", self._tell_systemd)
            self.supervisor.start("spool-replay", self.writer.run_replay)
            self.supervisor.start("waiting-queue", self.queue.run)
            if self.config.journal.retention_days > 0:
                days = self.config.journal.retention_days
                self.supervisor.start(
                    "journal-retention", lambda: retention.run_daily(self.store, days, self.clock)
                )
            due_s = self.config.routing.due_check_s
            postponements, followups = self.due_postponements.tick, self.followups.tick
            self.supervisor.start("due-postponements", lambda: every(due_s, postponements, "postponements"))
            self.supervisor.start("due-followups", lambda: every(due_s, followups, "followups"))
            self.supervisor.start("report-cache", ReportCacheWarmer(self.reports).run)
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
        await self.supervisor.stop()
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

    async def _tell_systemd(self) -> None:
        await tell_systemd(
            self.notifier,
            links=lambda: [("AMI", self.ami.connected), ("MQTT", self.mqtt.connected)],
            store_up=self.store.ping,
            ready=self._ready,
            node_id=self.config.mqtt.node_id,
        )
