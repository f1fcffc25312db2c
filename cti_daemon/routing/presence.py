"""Employee presence (seed 003): available, busy, away and custom statuses with a note; logged in or not
from the agent client's will; "busy" falls back to "available" when the client comes back after being
offline. Pure: payloads in, a new Presence or a refusal out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

BUILT_IN = ("available", "busy", "away")
NOTE_MAX = 200
_STATUS_MAX = 40


@dataclass(frozen=True, slots=True)
class Presence:
    employee_id: str
    status: str
    note: str
    client: str  # "online" | "offline"
    since: datetime


class PresenceRefused(Exception):  # noqa: N818 - a refusal, not a failure: the payload is the agent's
    """The agent's request is not valid; the reason is safe to log and to publish back."""


class PresenceBook:
    def __init__(self, custom_statuses: Iterable[str] = ()) -> None:
        self.statuses = tuple(dict.fromkeys([*BUILT_IN, *(s.strip() for s in custom_statuses if s.strip())]))
        self._by_employee: dict[str, Presence] = {}

    def get(self, employee_id: str) -> Presence | None:
        return self._by_employee.get(employee_id)

    def all(self) -> list[Presence]:
        return list(self._by_employee.values())

    def request(self, employee_id: str, payload: bytes, now: datetime) -> Presence:
        """An agent's `presence/{id}/set`. Raises PresenceRefused with the reason."""
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise PresenceRefused("payload is not JSON") from None
        if not isinstance(body, dict):
            raise PresenceRefused('payload must be a JSON object {"status", "note"}')
        status = body.get("status")
        note = body.get("note", "")
        if not isinstance(status, str) or status not in self.statuses:
            raise PresenceRefused(f"status must be one of {', '.join(self.statuses)}")
        if note is None:
            note = ""
        if not isinstance(note, str):
            raise PresenceRefused("note must be a string")
        if len(note) > NOTE_MAX:
            raise PresenceRefused(f"note is longer than {NOTE_MAX} characters")
        current = self._by_employee.get(employee_id)
        client = current.client if current else "offline"
        presence = Presence(employee_id, status, note.strip(), client, now)
        self._by_employee[employee_id] = presence
        return presence

    def client(self, employee_id: str, payload: bytes, now: datetime) -> Presence | None:
        """The agent client's retained `agents/{id}/client` ("online"/"offline", its will). Returns the new
        presence when something changed."""
        text = payload.decode("utf-8", errors="replace").strip().strip('"').lower()
        if text not in ("online", "offline"):
            raise PresenceRefused('client state must be "online" or "offline"')
        current = self._by_employee.get(employee_id)
        if current is None:
            presence = Presence(employee_id, "available", "", text, now)
        elif current.client == text:
            return None
        elif text == "online" and current.status == "busy":
            # Seed 003: "busy" is reset to "available" when the agent's program restarts.
            presence = replace(current, status="available", client="online", since=now)
        else:
            presence = replace(current, client=text, since=now)
        self._by_employee[employee_id] = presence
        return presence
