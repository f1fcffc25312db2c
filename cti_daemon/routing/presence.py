"""Employee presence (seed 003): available, busy, away and custom statuses with a note; logged in or not
from the agent client's will; "busy" falls back to "available" when the client comes back after being
offline. Only employees have a presence: any MQTT user may write its own `presence/{user}/set` under the
example ACL, so a request from a user who is no employee is refused. Pure: parsed requests in
(mqtt/inbound.py checks the payload's shape), a new Presence or a refusal out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from cti_daemon.mqtt.inbound import PresenceRequest
from cti_daemon.outbound.payloads import ClientState

BUILT_IN = ("available", "busy", "away")
NOTE_MAX = 200


@dataclass(frozen=True, slots=True)
class Presence:
    employee_id: str
    status: str
    note: str
    client: ClientState
    since: datetime


class PresenceRefused(Exception):  # noqa: N818 - a refusal of the agent's request, not our failure
    """The agent asked for something not allowed; the reason is safe to log."""


class PresenceBook:
    def __init__(self, custom_statuses: Iterable[str] = ()) -> None:
        self.statuses = tuple(dict.fromkeys([*BUILT_IN, *(s.strip() for s in custom_statuses if s.strip())]))
        self._by_employee: dict[str, Presence] = {}
        self.roster: frozenset[str] | None = None  # the employee ids; None until the list was read

    def know_employees(self, employee_ids: Iterable[str]) -> None:
        self.roster = frozenset(employee_ids)

    def _check_employee(self, employee_id: str) -> None:
        if self.roster is not None and employee_id not in self.roster:
            raise PresenceRefused(f"{employee_id!r} is not an employee")

    def get(self, employee_id: str) -> Presence | None:
        return self._by_employee.get(employee_id)

    def all(self) -> list[Presence]:
        return list(self._by_employee.values())

    def request(self, req: PresenceRequest, now: datetime) -> Presence:
        """An agent's `presence/{id}/set`. Raises PresenceRefused with the reason."""
        self._check_employee(req.employee_id)
        if req.status not in self.statuses:
            raise PresenceRefused(f"status {req.status!r} is not one of {', '.join(self.statuses)}")
        note = req.note or ""
        if len(note) > NOTE_MAX:
            raise PresenceRefused(f"note is longer than {NOTE_MAX} characters")
        current = self._by_employee.get(req.employee_id)
        presence = Presence(req.employee_id, req.status, note, current.client if current else "offline", now)
        self._by_employee[req.employee_id] = presence
        return presence

    def client(self, employee_id: str, state: ClientState, now: datetime) -> Presence | None:
        """The agent client's retained `agents/{id}/client` (its will says "offline"). The new presence
        when something changed, else None; PresenceRefused for who is no employee."""
        self._check_employee(employee_id)
        current = self._by_employee.get(employee_id)
        if current is None:
            presence = Presence(employee_id, "available", "", state, now)
        elif current.client == state:
            return None
        elif state == "online" and current.status == "busy":
            # Seed 003: "busy" is reset to "available" when the agent's program starts again.
            presence = replace(current, status="available", client="online", since=now)
        else:
            presence = replace(current, client=state, since=now)
        self._by_employee[employee_id] = presence
        return presence
