"""Presence over MQTT: agents' requests checked by the rules, then re-published retained for everyone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cti_daemon import logs
from cti_daemon.mqtt.inbound import PresenceRequest, listen_to_agents
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.outbound.payloads import ClientState
from cti_daemon.outbound.port import AgentPort
from cti_daemon.outbound.topics import Topics
from cti_daemon.routing.presence import Presence, PresenceBook, PresenceRefused

log = logs.get("cti.routing.presence")


class PresenceService:
    def __init__(self, book: PresenceBook, out: AgentPort, clock: Callable[[], datetime]) -> None:
        self.book = book
        self._out = out
        self._clock = clock

    def listen(self, link: MqttLink, topics: Topics) -> None:
        listen_to_agents(link, topics, on_presence_set=self.requested, on_client_state=self.client_state)

    def requested(self, req: PresenceRequest) -> None:
        try:
            presence = self.book.request(req, self._clock())
        except PresenceRefused as exc:
            log.warning("presence.refused", employee_id=req.employee_id, status=req.status, reason=str(exc))
            return
        log.info("presence.set", employee_id=req.employee_id, status=presence.status)
        self._publish(presence)

    def set(self, employee_id: str, status: str, note: str | None) -> Presence:
        """A signed-in page's request (over HTTP): checked by the same rules; PresenceRefused says why."""
        presence = self.book.request(PresenceRequest(employee_id, status, note), self._clock())
        log.info("presence.set", employee_id=employee_id, status=presence.status, via="http")
        self._publish(presence)
        return presence

    def client_state(self, employee_id: str, state: ClientState) -> None:
        presence = self.book.client(employee_id, state, self._clock())
        if presence is not None:
            log.info("presence.client", employee_id=employee_id, client=state, status=presence.status)
            self._publish(presence)

    def _publish(self, p: Presence) -> None:
        self._out.presence(
            employee_id=p.employee_id, status=p.status, note=p.note or None, client=p.client, since=p.since
        )
