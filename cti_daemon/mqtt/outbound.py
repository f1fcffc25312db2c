"""What the daemon says to agents, in domain words; topics and payload shapes stay in this package."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cti_daemon.ami.call_events import LineStatus, Party, QueueMembership
from cti_daemon.crm.identify import Identification
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.outbound import payloads
from cti_daemon.outbound.payloads import ClientState, NotifyKind
from cti_daemon.outbound.port import StillRelevant
from cti_daemon.outbound.topics import Topics

_DROPPED_MEMORY = 1024


class AgentOutbound:
    def __init__(self, link: MqttLink, topics: Topics, node_id: str) -> None:
        self._link = link
        self._topics = topics
        self._node_id = node_id
        # Pops dropped as stale while the broker was away: their dismissal is dropped too, so an agent
        # never gets a dismiss for a pop it never saw. Bounded: entries leave when their dismiss is sent.
        self._dropped_pops: dict[tuple[str, str], None] = {}

    def popup(
        self,
        *,
        employee_id: str,
        call_id: str,
        contact_id: str | None,
        at: datetime,
        extension: str,
        party: Party,
        ident: Identification,
        still_relevant: StillRelevant | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        body = payloads.popup(
            call_id=call_id,
            contact_id=contact_id,
            at=at,
            extension=extension,
            employee_id=employee_id,
            party=party,
            ident=ident,
            extra={"node_id": self._node_id, **(extra or {})},
        )
        key = (call_id, employee_id)

        def relevant() -> bool:
            if still_relevant is None or still_relevant():
                return True
            self._dropped_pops[key] = None
            if len(self._dropped_pops) > _DROPPED_MEMORY:
                del self._dropped_pops[next(iter(self._dropped_pops))]
            return False

        self._link.publish(
            self._topics.popup(employee_id),
            body,
            still_relevant=relevant,
            about={"call_id": call_id, "employee_id": employee_id, "type": "popup"},
        )

    def update(
        self, *, employee_id: str, call_id: str, at: datetime, party: Party, ident: Identification
    ) -> None:
        body = payloads.update(call_id=call_id, at=at, party=party, ident=ident)
        self._link.publish(self._topics.popup(employee_id), body)

    def dismiss(self, *, employee_id: str, call_id: str, reason: str, at: datetime) -> None:
        body = payloads.dismiss(call_id=call_id, reason=reason, at=at)
        key = (call_id, employee_id)

        def pop_was_sent() -> bool:
            if key in self._dropped_pops:
                del self._dropped_pops[key]
                return False
            return True

        self._link.publish(
            self._topics.popup(employee_id),
            body,
            still_relevant=pop_was_sent,
            about={"call_id": call_id, "employee_id": employee_id, "type": "dismiss"},
        )

    def line(
        self,
        *,
        extension: str,
        status: LineStatus,
        employee_id: str | None,
        call_id: str | None,
        since: datetime,
        queues: tuple[QueueMembership, ...] = (),
    ) -> None:
        body = payloads.line(
            extension=extension,
            status=status,
            employee_id=employee_id,
            call_id=call_id,
            since=since,
            queues=queues,
        )
        self._link.retain(self._topics.line(extension), body, shed="line")

    def call_event(
        self,
        *,
        event: str,
        call_id: str,
        party: Party | None,
        extension: str | None,
        at: datetime,
        **more: Any,
    ) -> None:
        body = payloads.call_event(
            event=event,
            call_id=call_id,
            party=party,
            extension=extension,
            at=at,
            node_id=self._node_id,
            **more,
        )
        self._link.publish(self._topics.call(call_id), body, shed="call_event")

    def daemon_status(
        self,
        *,
        online: bool,
        ami_connected: bool,
        since: datetime,
        ami_reason: str | None = None,
        ami_error_at: datetime | None = None,
    ) -> None:
        body = payloads.daemon_status(
            online=online,
            ami_connected=ami_connected,
            since=since,
            node_id=self._node_id,
            ami_reason=ami_reason,
            ami_error_at=ami_error_at,
        )
        self._link.retain(self._topics.daemon_status(self._node_id), body)

    def notify(
        self,
        *,
        employee_id: str,
        kind: NotifyKind,
        contact_id: str | None,
        text: str,
        at: datetime,
        **more: Any,
    ) -> None:
        body = payloads.notify(kind=kind, contact_id=contact_id, text=text, at=at, **more)
        self._link.publish(
            self._topics.notify(employee_id), body, about={"employee_id": employee_id, "kind": kind}
        )

    def presence(
        self, *, employee_id: str, status: str, note: str | None, client: ClientState, since: datetime
    ) -> None:
        """Retained, and published again after every reconnect until it changes."""
        body = payloads.presence(
            employee_id=employee_id, status=status, note=note, client=client, since=since
        )
        self._link.retain(self._topics.presence(employee_id), body)

    def traffic(self, *, contact_id: str, contact: dict[str, Any]) -> None:
        self._link.publish(self._topics.traffic(contact_id), payloads.traffic(contact))
