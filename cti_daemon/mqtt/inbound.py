"""What agent clients send the daemon: `presence/{id}/set` requests and their own `agents/{id}/client`
state. Payloads are parsed and checked here; a bad one is a log line naming the topic and the reason,
never an exception in the MQTT reader. What to do with a valid one (the presence rules) is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cti_daemon import logs
from cti_daemon.json_text import JsonTextError, loads_text
from cti_daemon.mqtt.link import MqttLink
from cti_daemon.outbound.payloads import ClientState
from cti_daemon.outbound.topics import Topics

log = logs.get("cti.mqtt.inbound")

MAX_STATUS = 32
MAX_NOTE = 200
_CLIENT_STATES: frozenset[str] = frozenset({"online", "offline"})


@dataclass(frozen=True, slots=True)
class PresenceRequest:
    employee_id: str
    status: str
    note: str | None


class BadPayloadError(ValueError):
    """Why an agent's message cannot be used (said in the log line)."""


def parse_presence_set(employee_id: str, payload: bytes) -> PresenceRequest:
    """`{"status": "busy", "note": "at lunch"}`; status 1-32 characters, note up to 200 or null."""
    try:
        body = loads_text(payload.decode("utf-8"))
    except JsonTextError as exc:
        raise BadPayloadError(f"not usable JSON: {exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise BadPayloadError("not UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise BadPayloadError("must be a JSON object")
    status = body.get("status")
    if not isinstance(status, str) or not status.strip() or len(status.strip()) > MAX_STATUS:
        raise BadPayloadError(f"status must be a string of 1 to {MAX_STATUS} characters")
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise BadPayloadError(f"note must be null or a string of at most {MAX_NOTE} characters")
    if any(ord(c) < 32 for c in status) or (
        note is not None and any(ord(c) < 32 and c != "\n" for c in note)
    ):
        raise BadPayloadError("control characters are not allowed")
    return PresenceRequest(employee_id, status.strip(), (note.strip() or None) if note is not None else None)


def parse_client_state(payload: bytes) -> ClientState:
    """ "online"/"offline", as a JSON string (what our client sends), bare text, or {"state": ...}."""
    text = payload.decode("utf-8", errors="replace").strip()
    value: object = text
    if text.startswith(("{", '"')):
        try:
            value = loads_text(text)
        except ValueError:  # JsonTextError included
            raise BadPayloadError("not valid JSON") from None
    if isinstance(value, dict):
        value = value.get("state")
    if value == "online":
        return "online"
    if value == "offline":
        return "offline"
    raise BadPayloadError('must be "online" or "offline"')


def _employee_of(topic: str, prefix: str, suffix: str) -> str | None:
    if not topic.startswith(prefix) or not topic.endswith(suffix):
        return None
    employee_id = topic[len(prefix) : len(topic) - len(suffix)]
    return employee_id if employee_id and "/" not in employee_id else None


def listen_to_agents(
    link: MqttLink,
    topics: Topics,
    *,
    on_presence_set: Callable[[PresenceRequest], None],
    on_client_state: Callable[[str, ClientState], None],
) -> None:
    """Subscribe to every agent's presence requests and client state (again after each reconnect)."""
    set_filter = topics.presence_set("+")
    client_filter = topics.agent_client("+")
    presence_prefix, presence_suffix = set_filter.split("+")
    client_prefix, client_suffix = client_filter.split("+")

    def presence_set(topic: str, payload: bytes) -> None:
        employee_id = _employee_of(topic, presence_prefix, presence_suffix)
        if employee_id is None:
            return
        try:
            request = parse_presence_set(employee_id, payload)
        except BadPayloadError as exc:
            log.warning("mqtt.bad_presence_set", topic=topic, employee_id=employee_id, reason=str(exc))
            return
        on_presence_set(request)

    def client_state(topic: str, payload: bytes) -> None:
        employee_id = _employee_of(topic, client_prefix, client_suffix)
        if employee_id is None:
            return
        try:
            state = parse_client_state(payload)
        except BadPayloadError as exc:
            log.warning("mqtt.bad_client_state", topic=topic, employee_id=employee_id, reason=str(exc))
            return
        on_client_state(employee_id, state)

    link.subscribe(set_filter, presence_set)
    link.subscribe(client_filter, client_state)
