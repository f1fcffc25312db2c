"""Presence over MQTT: agents' requests checked by the rules, then re-published retained for everyone.

Until the employee list has been read (the store may be away at start-up), what agents said waits here,
the latest per agent, and is judged once the list comes: the retained client states arrive as soon as
the daemon subscribes, and would otherwise be lost."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from cti_daemon import logs
from cti_daemon.mqtt.inbound import PresenceRequest, listen_to_agents
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.outbound.payloads import ClientState
from cti_daemon.outbound.port import AgentPort
from cti_daemon.outbound.topics import Topics
from cti_daemon.routing.presence import Presence, PresenceBook, PresenceRefused

log = logs.get("cti.routing.presence")

WAITING_MAX = 10_000  # agents' messages held until the employee list is known
_Said = tuple[str, PresenceRequest | ClientState]  # ("set", request) or ("client", state)


class PresenceService:
    def __init__(self, book: PresenceBook, out: AgentPort, clock: Callable[[], datetime]) -> None:
        self.book = book
        self._out = out
        self._clock = clock
        self._waiting: dict[tuple[str, str], _Said] = {}

    def employees_known(self, employee_ids: Iterable[str]) -> None:
        """The employee list (again): from now on only they have a presence; what waited is judged."""
        self.book.know_employees(employee_ids)
        waiting, self._waiting = self._waiting, {}
        for (_, employee_id), (_, said) in waiting.items():
            if isinstance(said, PresenceRequest):
                self.requested(said)
            else:
                self.client_state(employee_id, said)

    def _wait(self, employee_id: str, said: _Said) -> bool:
        if self.book.roster is not None:
            return False
        key = (said[0], employee_id)
        self._waiting.pop(key, None)  # the latest goes last, after what the agent said before it
        if len(self._waiting) >= WAITING_MAX:
            log.warning("presence.not_kept", employee_id=employee_id, reason="too many waiting")
            return True
        self._waiting[key] = said
        return True

    def listen(self, link: MqttLink, topics: Topics) -> None:
        listen_to_agents(link, topics, on_presence_set=self.requested, on_client_state=self.client_state)

    def requested(self, req: PresenceRequest) -> None:
        if self._wait(req.employee_id, ("set", req)):
            return
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
        if self._wait(employee_id, ("client", state)):
            return
        try:
            presence = self.book.client(employee_id, state, self._clock())
        except PresenceRefused as exc:
            log.warning("presence.refused", employee_id=employee_id, client=state, reason=str(exc))
            return
        if presence is not None:
            log.info("presence.client", employee_id=employee_id, client=state, status=presence.status)
            self._publish(presence)

    def _publish(self, p: Presence) -> None:
        self._out.presence(
            employee_id=p.employee_id, status=p.status, note=p.note or None, client=p.client, since=p.since
        )
