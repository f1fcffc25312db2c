"""Static queue members of the simulated PBX, as Asterisk 22's app_queue shows them (the recordings
tests/traces/asterisk-22-batch3/queue_member_unregister and queue_member_pause).

- A member's phone changes state: `QueueMemberStatus` (Status = the device state's number: 1 free, 2 in use,
  5 unavailable, 6 ringing, 8 on hold...), after the device and hint events; the member stays in the queue
  when its phone un-registers. Then the queue's availability device `Queue:<q>_avail` is recomputed and
  announced when it changed (NOT_INUSE: some member can take a call; INUSE: none). app_queue starts it at
  INUSE ("assume no members available") and only recomputes it on a member's device change.
- QueuePause: the answer first, then `DeviceStateChange Queue:<q>_pause_<interface>` (INUSE paused,
  NOT_INUSE unpaused) and `QueueMemberPause` (Paused, PausedReason; LastPause keeps the pause's time after
  the unpause). The member's Status, its phone's device and hint do not change.
- DeviceStateList lists both kinds of `Queue:` device; QueueStatus lists QueueParams and QueueMember items
  (their ActionID last, as recorded).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti_daemon.ami.frames import AmiMessage

if TYPE_CHECKING:
    from cti_daemon.ami.simulator.server import AmiServer, AmiSession

Headers = list[tuple[str, str]]
Emit = Callable[[str, str, Headers], None]

# The two queues of the recorded PBX (queues.conf): reception (member PJSIP/100), service (ringall,
# members PJSIP/201 and PJSIP/202).
DEFAULT_QUEUES: dict[str, tuple[str, ...]] = {"reception": ("100",), "service": ("201", "202")}
MEMBER_STATUS = {
    "UNKNOWN": "0",
    "NOT_INUSE": "1",
    "INUSE": "2",
    "BUSY": "3",
    "INVALID": "4",
    "UNAVAILABLE": "5",
    "RINGING": "6",
    "RINGINUSE": "7",
    "ONHOLD": "8",
}
_BUSY = frozenset({"INUSE", "BUSY", "RINGING", "RINGINUSE", "ONHOLD"})


@dataclass(slots=True)
class SimMember:
    queue: str
    extension: str
    device_state: str = "NOT_INUSE"
    paused: bool = False
    reason: str = ""
    last_pause: int = 0
    ringinuse: bool = True

    @property
    def interface(self) -> str:
        return f"PJSIP/{self.extension}"

    def available(self) -> bool:
        """app_queue's is_member_available: a paused or unreachable member is not; a busy one only with
        ringinuse (on here, as recorded: Ringinuse: 1)."""
        if self.paused or self.device_state in ("UNAVAILABLE", "INVALID"):
            return False
        return self.ringinuse or self.device_state not in _BUSY


class SimQueues:
    """Every queue and its static members; each change emits its events through `emit`."""

    def __init__(self, emit: Emit, queues: Mapping[str, Sequence[str]], login_time: int) -> None:
        self._emit = emit
        self.login_time = login_time
        self.members: dict[str, list[SimMember]] = {
            queue: [SimMember(queue, ext) for ext in extensions] for queue, extensions in queues.items()
        }
        self.avail: dict[str, str] = dict.fromkeys(queues, "INUSE")

    def of(self, extension: str) -> list[SimMember]:
        return [m for members in self.members.values() for m in members if m.extension == extension]

    def member(self, queue: str, interface: str) -> SimMember | None:
        for m in self.members.get(queue, ()):
            if m.interface.lower() == interface.lower():
                return m
        return None

    # --- changes -------------------------------------------------------------------------------------
    def device_changed(self, extension: str, state: str) -> None:
        """The member's phone changed state (after its device and hint events)."""
        for m in self.of(extension):
            m.device_state = state
            self._emit("QueueMemberStatus", "agent,all", self._member_event(m))
            self._recompute_avail(m.queue)

    def pause(self, queue: str | None, interface: str, *, paused: bool, reason: str = "") -> bool:
        """QueuePause of `interface` in `queue` (every queue it is a member of when None); False when it
        is a member of none of them ("Interface not found")."""
        found = [
            m
            for q in ([queue] if queue else list(self.members))
            if (m := self.member(q, interface)) is not None
        ]
        for m in found:
            m.paused = paused
            m.reason = reason if paused else ""
            if paused:
                m.last_pause = int(time.time())
            device = f"Queue:{m.queue}_pause_{m.interface}"
            self._emit("DeviceStateChange", "call,all", [("Device", device), ("State", _pause_state(m))])
            self._emit("QueueMemberPause", "agent,all", self._member_event(m))
        return bool(found)

    def _recompute_avail(self, queue: str) -> None:
        state = "NOT_INUSE" if any(m.available() for m in self.members[queue]) else "INUSE"
        if state != self.avail[queue]:
            self.avail[queue] = state
            self._emit(
                "DeviceStateChange", "call,all", [("Device", f"Queue:{queue}_avail"), ("State", state)]
            )

    # --- what the lists say --------------------------------------------------------------------------
    def device_items(self) -> list[Headers]:
        """The `Queue:` devices of DeviceStateList."""
        items: list[Headers] = []
        for queue, members in self.members.items():
            items.extend(
                [("Device", f"Queue:{queue}_pause_{m.interface}"), ("State", _pause_state(m))]
                for m in members
            )
            items.append([("Device", f"Queue:{queue}_avail"), ("State", self.avail[queue])])
        return items

    def status_items(self, queue: str = "", member: str = "") -> list[tuple[str, Headers]]:
        """The items of QueueStatus (optionally one queue, one member): QueueParams, then its members."""
        out: list[tuple[str, Headers]] = []
        for name, members in self.members.items():
            if queue and name != queue:
                continue
            out.append(("QueueParams", _params(name)))
            out.extend(
                ("QueueMember", self._list_member(m))
                for m in members
                if not member or m.interface.lower() == member.lower()
            )
        return out

    def _member_event(self, m: SimMember) -> Headers:
        return [
            ("Queue", m.queue),
            ("MemberName", m.interface),
            ("Interface", m.interface),
            ("StateInterface", m.interface),
            ("Membership", "static"),
            ("Penalty", "0"),
            ("CallsTaken", "0"),
            ("LastCall", "0"),
            ("LastPause", str(m.last_pause)),
            ("LoginTime", str(self.login_time)),
            ("InCall", "0"),
            ("Status", MEMBER_STATUS.get(m.device_state, "0")),
            ("Paused", "1" if m.paused else "0"),
            ("PausedReason", m.reason),
            ("Ringinuse", "1" if m.ringinuse else "0"),
            ("Wrapuptime", "0"),
        ]

    def _list_member(self, m: SimMember) -> Headers:
        return [
            ("Queue", m.queue),
            ("Name", m.interface),
            ("Location", m.interface),
            ("StateInterface", m.interface),
            ("Membership", "static"),
            ("Penalty", "0"),
            ("CallsTaken", "0"),
            ("LastCall", "0"),
            ("LastPause", str(m.last_pause)),
            ("LoginTime", str(self.login_time)),
            ("InCall", "0"),
            ("Status", MEMBER_STATUS.get(m.device_state, "0")),
            ("Paused", "1" if m.paused else "0"),
            ("PausedReason", m.reason),
            ("Wrapuptime", "0"),
        ]


def _pause_state(m: SimMember) -> str:
    return "INUSE" if m.paused else "NOT_INUSE"


def _params(queue: str) -> Headers:
    return [
        ("Queue", queue),
        ("Max", "0"),
        ("Strategy", "ringall"),
        ("Calls", "0"),
        ("Holdtime", "0"),
        ("TalkTime", "0"),
        ("Completed", "0"),
        ("Abandoned", "0"),
        ("ServiceLevel", "0"),
        ("ServicelevelPerf", "0.0"),
        ("ServicelevelPerf2", "0.0"),
        ("Weight", "0"),
    ]


# --- the AMI actions ---------------------------------------------------------------------------------
def install(server: AmiServer) -> None:
    """QueueStatus and QueuePause (manager.conf `write = agent` for QueuePause, as in Asterisk)."""
    server.actions["queuestatus"] = _queue_status(server)
    server.actions["queuepause"] = _queue_pause(server)


def _queue_status(server: AmiServer) -> Callable[[AmiSession, AmiMessage], None]:
    def handle(session: AmiSession, action: AmiMessage) -> None:
        if server.booting:  # app_queue is not loaded yet either
            session.respond(action, "Error", [("Message", "Invalid/unknown command")])
            return
        items = server.pbx.queues.status_items(action.get("Queue", ""), action.get("Member", ""))
        session.respond(action, "Success", [("EventList", "start"), ("Message", "Queue status will follow")])
        tail: Headers = [("ActionID", action["ActionID"])] if "ActionID" in action else []
        for name, headers in items:
            session.write(_encode(name, [*headers, *tail]))
        session.event(
            "QueueStatusComplete", [("EventList", "Complete"), ("ListItems", str(len(items)))], action
        )

    return handle


def _queue_pause(server: AmiServer) -> Callable[[AmiSession, AmiMessage], None]:
    def handle(session: AmiSession, action: AmiMessage) -> None:
        if "agent" not in server.write:
            session.respond(action, "Error", [("Message", "Permission denied")])
            return
        interface, paused = action.get("Interface", ""), action.get("Paused", "")
        if not interface or not paused:
            session.respond(action, "Error", [("Message", "Need 'Interface' and 'Paused' parameters.")])
            return
        pause = paused.strip().lower() in ("true", "yes", "1", "on")
        queues = server.pbx.queues
        queue = action.get("Queue") or None
        if not [q for q in ([queue] if queue else list(queues.members)) if queues.member(q, interface)]:
            session.respond(action, "Error", [("Message", "Interface not found")])
            return
        # As recorded: the answer comes before the events.
        message = "Interface paused successfully" if pause else "Interface unpaused successfully"
        session.respond(action, "Success", [("Message", message)])
        queues.pause(queue, interface, paused=pause, reason=action.get("Reason", ""))

    return handle


def _encode(name: str, headers: Headers) -> bytes:
    lines = [f"Event: {name}\r\n", *(f"{k}: {v}\r\n" for k, v in headers), "\r\n"]
    return "".join(lines).encode("utf-8")
