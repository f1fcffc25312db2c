"""The services that follow a contact after its ring, built together because they share their inputs:
postponements that come due, the PBX's facts of each call (times, who answered, missed calls), click to
dial's outbound contacts and follow-up calls. The composition root calls `JournalFollowers.build` once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from cti_daemon.ami.directory import LineDirectory
from cti_daemon.crm.followups_store import FollowUpStore
from cti_daemon.crm.identify import Identification
from cti_daemon.crm.journal_store import ContactRecord, JournalStore
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.purposes import PurposeCatalog
from cti_daemon.crm.store import Store
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.call_facts import CallFacts
from cti_daemon.routing.due_postponements import DuePostponements
from cti_daemon.routing.followups import FollowUps
from cti_daemon.routing.journal_writer import JournalWriter
from cti_daemon.routing.outbound_contacts import OutboundContacts
from cti_daemon.routing.ring_contacts import RingContacts


@dataclass(frozen=True, slots=True)
class JournalFollowers:
    due_postponements: DuePostponements
    call_facts: CallFacts
    outbound_contacts: OutboundContacts
    followups: FollowUps

    @classmethod
    def build(
        cls,
        *,
        store: Store,
        journal: JournalStore,
        writer: JournalWriter,
        ring: RingContacts,
        directory: LineDirectory,
        rules: NumberRules,
        out: AgentPort,
        clock: Callable[[], datetime],
        node_id: str,
        catalog: Callable[[], PurposeCatalog],
        customer_name: Callable[[ContactRecord], Awaitable[str | None]],
        settled: Callable[[str], Awaitable[None]],
        identify: Callable[[str], Awaitable[Identification]],
        followup_max_attempts: int,
    ) -> JournalFollowers:
        facts = CallFacts(
            store=store,
            journal=journal,
            writer=writer,
            ring=ring,
            directory=directory,
            rules=rules,
            out=out,
            clock=clock,
            node_id=node_id,
            settled=settled,
            identify=identify,
        )
        return cls(
            due_postponements=DuePostponements(
                store=store,
                journal=journal,
                catalog=catalog,
                ring=ring,
                out=out,
                clock=clock,
                node_id=node_id,
                customer_name=customer_name,
            ),
            call_facts=facts,
            outbound_contacts=OutboundContacts(
                store=store,
                journal=journal,
                writer=writer,
                facts=facts,
                rules=rules,
                out=out,
                clock=clock,
                node_id=node_id,
            ),
            followups=FollowUps(
                store=FollowUpStore(store),
                catalog=catalog,
                out=out,
                clock=clock,
                max_attempts=followup_max_attempts,
            ),
        )
