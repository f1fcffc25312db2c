"""The stream's side of the outbound port: each message built once (the same payloads MQTT carries), as
one `{"topic","payload"}` envelope, queued for every connected page allowed to see it.

Each page has a bounded queue. A page that stops reading fills it and is cut off (counted), so a slow
browser can never grow the daemon's memory; it reconnects and gets a fresh snapshot. The hub also keeps
what a snapshot needs and no other source has: the pops still open per employee (until their dismiss)
and the last retained payloads (lines, presence, the daemon's state), as a broker keeps retained topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from cti_daemon import logs
from cti_daemon.ami.call_events import LineStatus, Party
from cti_daemon.crm.identify import Identification
from cti_daemon.outbound import payloads
from cti_daemon.outbound.payloads import ClientState, NotifyKind
from cti_daemon.outbound.port import StillRelevant
from cti_daemon.outbound.topics import Topics
from cti_daemon.stream.audience import Audience, Viewer, contact_is_theirs, may_see

log = logs.get("cti.stream")

DEFAULT_QUEUE_LIMIT = 256
NAMES_TOPIC = "customer_names"  # the stream's own envelope: {"customers": {id: name}} (not an MQTT topic)
_NAMES_MAX = 10_000
_OPEN_POPS_MAX = 10_000  # pops whose dismiss never came (a lost call): the oldest are forgotten
_KNOWN_CONTACTS_MAX = 2_000
EVERYONE = Audience("everyone")


def envelope(topic: str, payload: Mapping[str, Any]) -> str:
    return json.dumps({"topic": topic, "payload": payload}, ensure_ascii=False, separators=(",", ":"))


class Subscriber:
    """One connected page: what it may see, and its bounded queue of envelopes (JSON text)."""

    def __init__(self, viewer: Viewer, limit: int) -> None:
        self.viewer = viewer
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=limit)
        self.cut_off = asyncio.Event()
        self.high_water = 0  # the most envelopes it ever had waiting (tests: memory stays bounded)
        self.known_contacts: dict[str, None] = {}

    def offer(self, text: str) -> bool:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        self.high_water = max(self.high_water, self.queue.qsize())
        return True


class StreamHub:
    """Implements `outbound.port.AgentPort` for the pages."""

    def __init__(
        self,
        topics: Topics,
        node_id: str,
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        name_of: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self._topics = topics
        # A contact names its customer by id only, and an employee may not read the customer store: the
        # page learns the names of its contacts' customers from the stream (snapshot and NAMES_TOPIC).
        self._name_of = name_of
        self._names: dict[str, str] = {}
        self._naming: set[asyncio.Task[None]] = set()
        self._node_id = node_id
        self.queue_limit = queue_limit
        self._subscribers: set[Subscriber] = set()
        self._pops: dict[tuple[str, str], dict[str, Any]] = {}  # (employee, call) -> the pop as now
        self._retained: dict[str, dict[str, Any]] = {}
        self.cut_off_total = 0
        self.connections_total = 0
        self.sent_total = 0

    # --- subscribers ---------------------------------------------------------------------------------
    def subscribe(self, viewer: Viewer) -> Subscriber:
        sub = Subscriber(viewer, self.queue_limit)
        self._subscribers.add(sub)
        self.connections_total += 1
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def connected(self) -> int:
        return len(self._subscribers)

    def open_pops(self, viewer: Viewer) -> list[dict[str, Any]]:
        return [
            pop
            for (employee_id, _call), pop in self._pops.items()
            if may_see(viewer, Audience("personal", employee_id=employee_id), pop)
        ]

    def retained(self, kind: str) -> list[dict[str, Any]]:
        """The last payload of every retained topic of one kind ("lines", "presence", "daemon")."""
        prefix = f"{self._topics.prefix}/{kind}/"
        return [body for topic, body in self._retained.items() if topic.startswith(prefix)]

    def _send(
        self,
        topic: str,
        payload: dict[str, Any],
        audience: Audience,
        *,
        about: Mapping[str, Any] | None = None,
    ) -> None:
        """`about`: the contact a message concerns when it is not the payload itself (its customer's name)."""
        if not self._subscribers:
            return
        text = envelope(topic, payload)
        judged = about if about is not None else payload
        contact_id = payload.get("id") if audience.kind == "contact" and about is None else None
        for sub in list(self._subscribers):
            if not may_see(sub.viewer, audience, judged):
                if contact_id is None or contact_id not in sub.known_contacts:
                    continue
                # It was theirs and no longer is (given to someone else): tell the page to drop it.
                del sub.known_contacts[contact_id]
                gone = {"v": payload.get("v", 1), "id": contact_id, "gone": True}
                self._deliver(sub, envelope(topic, gone))
                continue
            if isinstance(contact_id, str):
                sub.known_contacts[contact_id] = None
                if len(sub.known_contacts) > _KNOWN_CONTACTS_MAX:
                    del sub.known_contacts[next(iter(sub.known_contacts))]
            self._deliver(sub, text)

    def _deliver(self, sub: Subscriber, text: str) -> None:
        if sub.offer(text):
            self.sent_total += 1
            return
        self._subscribers.discard(sub)
        self.cut_off_total += 1
        sub.cut_off.set()
        log.warning(
            "stream.cut_off",
            employee_id=sub.viewer.employee_id,
            queued=sub.queue.qsize(),
            reason="the page stopped reading; it gets a fresh snapshot when it reconnects",
        )

    def remember_contact(self, sub: Subscriber, contact_id: str) -> None:
        sub.known_contacts[contact_id] = None

    # --- the port --------------------------------------------------------------------------------------
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
        self._pops[(employee_id, call_id)] = body
        if len(self._pops) > _OPEN_POPS_MAX:
            del self._pops[next(iter(self._pops))]
        self._send(self._topics.popup(employee_id), body, Audience("personal", employee_id=employee_id))

    def update(
        self, *, employee_id: str, call_id: str, at: datetime, party: Party, ident: Identification
    ) -> None:
        body = payloads.update(call_id=call_id, at=at, party=party, ident=ident)
        pop = self._pops.get((employee_id, call_id))
        if pop is not None:
            # Reception's purpose (the pop's contact) beats the guess an update carries, as at ring time.
            keep = {"type", "at", "purpose"} if (pop.get("contact") or {}).get("purpose") else {"type", "at"}
            pop.update({k: v for k, v in body.items() if k not in keep})
        self._send(self._topics.popup(employee_id), body, Audience("personal", employee_id=employee_id))

    def dismiss(self, *, employee_id: str, call_id: str, reason: str, at: datetime) -> None:
        self._pops.pop((employee_id, call_id), None)
        body = payloads.dismiss(call_id=call_id, reason=reason, at=at)
        self._send(self._topics.popup(employee_id), body, Audience("personal", employee_id=employee_id))

    def line(
        self,
        *,
        extension: str,
        status: LineStatus,
        employee_id: str | None,
        call_id: str | None,
        since: datetime,
    ) -> None:
        body = payloads.line(
            extension=extension, status=status, employee_id=employee_id, call_id=call_id, since=since
        )
        self._retain(self._topics.line(extension), body)

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
        at_lines = {e for e in (extension, more.get("to_extension"), more.get("from_extension")) if e}
        audience = Audience("call", extensions=frozenset(str(e) for e in at_lines))
        self._send(self._topics.call(call_id), body, audience)

    def daemon_status(self, *, online: bool, ami_connected: bool, since: datetime) -> None:
        body = payloads.daemon_status(
            online=online, ami_connected=ami_connected, since=since, node_id=self._node_id
        )
        self._retain(self._topics.daemon_status(self._node_id), body)

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
        self._send(self._topics.notify(employee_id), body, Audience("personal", employee_id=employee_id))

    def presence(
        self, *, employee_id: str, status: str, note: str | None, client: ClientState, since: datetime
    ) -> None:
        body = payloads.presence(
            employee_id=employee_id, status=status, note=note, client=client, since=since
        )
        self._retain(self._topics.presence(employee_id), body)

    def traffic(self, *, contact_id: str, contact: dict[str, Any]) -> None:
        body = payloads.traffic(contact)
        customer_id = contact.get("customer_id")
        if isinstance(customer_id, str) and self._name_of is not None and self._subscribers:
            if customer_id not in self._names:
                task = asyncio.get_running_loop().create_task(self._name_then_send(customer_id, body))
                self._naming.add(task)
                task.add_done_callback(self._naming.discard)
                return  # sent with its name, right after the lookup
            names = {"customers": {customer_id: self._names[customer_id]}}
            self._send(NAMES_TOPIC, names, Audience("contact"), about=body)
        self._send(self._topics.traffic(contact_id), body, Audience("contact"))

    async def names(self, customer_ids: set[str]) -> dict[str, str]:
        """Names of customers (for a snapshot), from the hub's memory or the store."""
        found: dict[str, str] = {}
        for customer_id in sorted(customer_ids):
            name = self._names.get(customer_id)
            if name is None and self._name_of is not None:
                with contextlib.suppress(
                    Exception
                ):  # a name is a nicety: the store's outage must not stop a snapshot
                    name = await self._name_of(customer_id)
                if name is not None:
                    self._remember_name(customer_id, name)
            if name is not None:
                found[customer_id] = name
        return found

    async def _name_then_send(self, customer_id: str, body: dict[str, Any]) -> None:
        await self.names({customer_id})
        name = self._names.get(customer_id)
        if name is not None:
            self._send(NAMES_TOPIC, {"customers": {customer_id: name}}, Audience("contact"), about=body)
        self._send(self._topics.traffic(str(body["id"])), body, Audience("contact"))

    def _remember_name(self, customer_id: str, name: str) -> None:
        self._names[customer_id] = name
        if len(self._names) > _NAMES_MAX:
            del self._names[next(iter(self._names))]

    def _retain(self, topic: str, body: dict[str, Any]) -> None:
        self._retained[topic] = body
        self._send(topic, body, EVERYONE)


def visible_contacts(viewer: Viewer, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in contacts if viewer.sees_all or contact_is_theirs(viewer, c)]
