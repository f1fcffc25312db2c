"""The call tracker: AMI events (plain dicts) in, domain events out. Pure: no I/O, no clock, no asyncio.

Every event that carries a channel snapshot refreshes that channel (call_state.py), so the unstable order
of Asterisk's events does not matter and a call already under way when we connect is adopted from the first
event that mentions it. List items (they carry an ActionID) are not live news.

Transfers: BlindTransfer and AttendedTransfer events say so; a Redirect says nothing, so it is inferred
(the caller, left by the extension that answered, dials another extension). An attended transfer made
from a phone consults in a second call; when it completes, the target's legs join the transferred call and
the target's pop is updated to show the real caller. Transfers and pickups are handled in handovers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from cti_daemon.ami.call_events import (
    CallEvent,
    CallRinging,
    LineChanged,
    LineStatus,
    Party,
    QueueMembership,
    RingStopped,
)
from cti_daemon.ami.call_state import NOTHING, Msg, some
from cti_daemon.ami.calls import CallView, LineView, view_of
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.handovers import Handovers
from cti_daemon.ami.lines import Line, device_status, hint_status
from cti_daemon.ami.queue_members import member_device, membership

ENDED_UNSEEN = (0, "ended while the AMI link was down")
_FAILED_DIAL = frozenset(
    {"BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION", "DONTCALL", "TORTURE", "INVALIDARGS"}
)
_ORIGINATING_MEMORY = 1024
_OFFLINE_CONTACT = frozenset({"removed", "unreachable", "unregistered", "rejected", "unknown"})


class CallTracker(Handovers):
    """`handle(msg) -> list[CallEvent]` for every live AMI event; read-only views; resync from lists."""

    def __init__(self, directory: LineDirectory) -> None:
        super().__init__(directory)
        self._input_seq: dict[str, int] = {}  # device or hint name -> seq of its last live news
        self._handlers: dict[str, Callable[[Msg], list[CallEvent]]] = {
            "Newchannel": self._on_snapshot,
            "Newstate": self._on_snapshot,
            "NewCallerid": self._on_identity,
            "NewConnectedLine": self._on_identity,
            "DialBegin": self._on_dialbegin,
            "DialState": self._on_dial,
            "DialEnd": self._on_dialend,
            "BridgeEnter": self._on_bridge_enter,
            "BridgeLeave": self._on_bridge_leave,
            "Hold": self._on_snapshot,
            "Unhold": self._on_snapshot,
            "Rename": self._on_rename,
            "Pickup": self._on_pickup,
            "Hangup": self._on_hangup,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
            "DeviceStateChange": self._on_devicestate,
            "ExtensionStatus": self._on_extensionstatus,
            "ContactStatus": self._on_contactstatus,
            "PeerStatus": self._on_peerstatus,
            "QueueMemberStatus": self._on_queue_member,
            "QueueMemberPause": self._on_queue_member,
            "QueueMemberAdded": self._on_queue_member,
            "QueueMemberRemoved": self._on_queue_member_removed,
        }

    def handle(self, msg: Msg) -> list[CallEvent]:
        """One live AMI event. List items (they carry an ActionID and reuse live event names: a
        DeviceStateList answers with DeviceStateChange items) are not live news and are ignored."""
        handler = self._handlers.get(msg.get("Event", ""))
        if handler is None or "ActionID" in msg:
            return NOTHING
        self._seq += 1
        out = handler(msg)
        if self.aside:
            out, self.aside = out + self.aside, []
        return out

    # --- read-only views -----------------------------------------------------------------------------
    def call_views(self) -> list[CallView]:
        return [view_of(call, self.channels) for call in self.calls.values()]

    def call_view(self, call_id: str) -> CallView | None:
        call = self.calls.get(call_id)
        return view_of(call, self.channels) if call is not None else None

    def line_views(self) -> list[LineView]:
        return [_line_view(ext, line) for ext, line in sorted(self.lines.lines().items())]

    def line_view(self, extension: str) -> LineView | None:
        line = self.lines.lines().get(extension)
        return _line_view(extension, line) if line is not None else None

    def expect_origination(self, call_id: str, number: str) -> None:
        """Click to dial is about to Originate `call_id` (its ChannelId) to `number`: when the employee's
        phone rings with it, its pop names that number; a transfer of the far end names it too."""
        self.originating[call_id] = Party(number, "")
        while len(self.originating) > _ORIGINATING_MEMORY:  # Originates that never rang
            del self.originating[next(iter(self.originating))]

    def expect_deflection(self, call_id: str) -> None:
        """The caller of this ringing call is about to be Redirected elsewhere: the legs ringing now end
        with a DialEnd CANCEL and a Hangup, as when the caller hangs up, but their pops close as
        transferred."""
        call = self.calls.get(call_id)
        if call is not None:
            call.deflected = {uid for uids in call.ringing.values() for uid in uids}

    def forget_deflection(self, call_id: str) -> None:
        """The PBX refused that Redirect: the legs still ring, and their end is whatever it will be."""
        call = self.calls.get(call_id)
        if call is not None:
            call.deflected.clear()

    def mark(self) -> int:
        """Take before asking Asterisk for its lists; give to `resync(since=...)`: news that arrives
        while the lists are on their way is fresher than the lists and is kept."""
        return self._seq + 1

    # --- resync --------------------------------------------------------------------------------------
    def resync(
        self,
        devices: Iterable[Msg] | None = None,
        hints: Iterable[Msg] | None = None,
        channels: Iterable[Msg] | None = None,
        *,
        queue_members: Iterable[Msg] | None = None,
        since: int | None = None,
    ) -> list[CallEvent]:
        """Correct the state from Asterisk's lists (DeviceStateList, ExtensionStateList, CoreShowChannels,
        QueueStatus items; None for a list we could not get). Calls that ended unseen end, calls that
        started are adopted (a ringing one rings, so its pop goes out), lines take their true state and
        queue memberships. Only the changes are returned, lines last."""
        before = {ext: _published(line) for ext, line in self.lines.lines().items()}
        out: list[CallEvent] = []
        fresh = since if since is not None else self._seq + 1
        self._seq += 1
        if channels is not None:
            out.extend(self._resync_channels(list(channels), fresh))
            out, self.aside = out + self.aside, []
        for item in devices or ():
            device = item.get("Device", "")
            ext = self.directory.extension_of_device(device)
            if ext is not None and self._input_seq.get(device.lower(), 0) < fresh:
                self.lines.set_device(ext, device, device_status(item.get("State", "")))
        for item in hints or ():
            ext = item.get("Exten", "")
            if self.directory.is_extension(ext) and self._input_seq.get(f"hint:{ext}", 0) < fresh:
                self.lines.set_hint(ext, hint_status(item.get("Status", "")))
        if queue_members is not None:
            self._resync_queues(queue_members, fresh)
        events: list[CallEvent] = [e for e in out if not isinstance(e, LineChanged)]
        for ext, line in sorted(self.lines.lines().items()):
            if before.get(ext, (LineStatus.UNKNOWN, None, ())) != _published(line):
                events.append(LineChanged(ext, line.status, line.call_id, line.queue_view))
        return events

    def _resync_queues(self, items: Iterable[Msg], fresh: int) -> None:
        """A QueueStatus list names every member of every queue: each line's memberships become the
        list's, unless live queue news about the line arrived meanwhile."""
        listed: dict[str, list[QueueMembership]] = {}
        for item in items:
            seat = membership(item) if item.get("Event") == "QueueMember" else None
            ext = self.directory.extension_of_device(member_device(item)) if seat is not None else None
            if seat is not None and ext is not None:
                listed.setdefault(ext, []).append(seat)
        for ext in set(listed) | {ext for ext, line in self.lines.lines().items() if line.queues}:
            if self._input_seq.get(f"queues:{ext}", 0) < fresh:
                self.lines.replace_queues(ext, listed.get(ext, []))

    def _resync_channels(self, items: list[Msg], fresh: int) -> list[CallEvent]:
        out: list[CallEvent] = []
        listed = {item.get("Uniqueid", ""): item for item in items}
        for uid, chan in list(self.channels.items()):
            if uid not in listed and chan.seq < fresh:
                out.extend(self._hangup(chan, ENDED_UNSEEN))
        # Each call's own channel first, so a ringing leg adopted next already knows its real caller.
        for item in sorted(items, key=lambda m: m.get("Uniqueid") != m.get("Linkedid")):
            known = self.channels.get(item.get("Uniqueid", ""))
            if known is not None and known.seq >= fresh:
                continue
            rang_s = _duration_s(item.get("Duration", ""))
            out.extend(
                replace(e, rang_s=rang_s) if isinstance(e, CallRinging) else e
                for e in self._on_snapshot(item, adopting=True)
            )
            adopted = self.channels.get(item.get("Uniqueid", ""))
            if adopted is not None:
                self._set_bridge(adopted, item.get("BridgeId") or None)
        return out

    # --- handlers ------------------------------------------------------------------------------------
    def _on_snapshot(self, msg: Msg, *, adopting: bool = False) -> list[CallEvent]:
        chan, old = self._upsert(msg)
        if chan is None or chan.extension is None or chan.state == old:
            return NOTHING
        return self._changed(chan, adopting=adopting)

    def _on_identity(self, msg: Msg) -> list[CallEvent]:
        out = self._on_snapshot(msg)
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None:
            return out
        changed = self._identity_changes(self.calls[chan.linkedid])
        return out + changed if out else changed

    def _on_rename(self, msg: Msg) -> list[CallEvent]:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        new = msg.get("Newname", "")
        if chan is None or not new:
            return NOTHING
        out: list[CallEvent] = []
        ext = self.directory.extension_of_channel(new)
        if ext != chan.extension:
            old_ext = chan.extension
            call = self.calls.get(chan.linkedid)
            was_ringing = call is not None and old_ext is not None and old_ext in call.ringing
            self._leave(chan)
            if old_ext is not None:
                self._ext_channels.get(old_ext, set()).discard(chan.uniqueid)
                if was_ringing and call is not None and old_ext not in call.ringing:
                    # The ringing leg now belongs to another phone (a masquerade: a pickup moves the call
                    # onto the picker's channel): the pop at the old one must close.
                    out.append(RingStopped(call.call_id, old_ext, "answered_elsewhere"))
                out.extend(self._line_from_channels(old_ext))
            chan.extension = ext
            if ext is not None:
                self._ext_channels.setdefault(ext, set()).add(chan.uniqueid)
            self._join(chan, chan.linkedid)
        chan.name = new
        if ext is not None:
            out.extend(self._changed(chan, adopting=False))
        return out

    def _on_dialbegin(self, msg: Msg) -> list[CallEvent]:
        out = self._on_snapshot(msg)
        dest, old = self._upsert(msg, "Dest")
        if dest is None or dest.extension is None or dest.origin:
            return out
        out = out + self._detect_redirect(self.calls[dest.linkedid], dest.extension)
        if dest.state != old:
            out = out + self._changed(dest, adopting=False)
        return out

    def _on_dial(self, msg: Msg) -> list[CallEvent]:
        out = self._on_snapshot(msg)
        dest, old = self._upsert(msg, "Dest")
        if dest is None or dest.extension is None or dest.state == old:
            return out
        return out + self._changed(dest, adopting=False)

    def _on_dialend(self, msg: Msg) -> list[CallEvent]:
        out = self._on_dial(msg)
        dest = self.channels.get(msg.get("DestUniqueid", ""))
        status = msg.get("DialStatus", "")
        if dest is not None and dest.extension is not None and status == "ANSWER":
            out = out + self._pickup_by_dialend(msg, dest)
        if dest is None or dest.extension is None or dest.origin:
            return out
        call = self.calls[dest.linkedid]
        if status == "ANSWER":
            return out + self._answered(call, dest, adopting=False)
        if status in _FAILED_DIAL:  # CANCEL waits for the Hangup: its cause says "answered elsewhere"
            return out + self._stop_ringing(call, dest, "ended")
        return out

    def _on_bridge_enter(self, msg: Msg) -> list[CallEvent]:
        out = self._on_snapshot(msg)
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is not None:
            self._set_bridge(chan, msg.get("BridgeUniqueid") or None)
        return out

    def _on_bridge_leave(self, msg: Msg) -> list[CallEvent]:
        out = self._on_snapshot(msg)
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is not None and chan.bridge == msg.get("BridgeUniqueid"):
            self._set_bridge(chan, None)
        return out

    def _on_pickup(self, msg: Msg) -> list[CallEvent]:
        return self._on_snapshot(msg) + self._pickup(msg)

    def _on_hangup(self, msg: Msg) -> list[CallEvent]:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None:
            return NOTHING
        return self._hangup(chan, (_int(msg.get("Cause", "0")), msg.get("Cause-txt", "")))

    # --- lines ---------------------------------------------------------------------------------------
    def _on_devicestate(self, msg: Msg) -> list[CallEvent]:
        device = msg.get("Device", "")
        ext = self.directory.extension_of_device(device)
        if ext is None:
            return NOTHING
        self._input_seq[device.lower()] = self._seq
        return some(self.lines.set_device(ext, device, device_status(msg.get("State", ""))))

    def _on_queue_member(self, msg: Msg) -> list[CallEvent]:
        seat = membership(msg)
        ext = self.directory.extension_of_device(member_device(msg)) if seat is not None else None
        if seat is None or ext is None:
            return NOTHING
        self._input_seq[f"queues:{ext}"] = self._seq
        return some(self.lines.set_queue(ext, seat))

    def _on_queue_member_removed(self, msg: Msg) -> list[CallEvent]:
        ext = self.directory.extension_of_device(member_device(msg))
        if ext is None:
            return NOTHING
        self._input_seq[f"queues:{ext}"] = self._seq
        return some(self.lines.drop_queue(ext, msg.get("Queue", "")))

    def _on_extensionstatus(self, msg: Msg) -> list[CallEvent]:
        ext = msg.get("Exten", "")
        if not self.directory.is_extension(ext):
            return NOTHING
        self._input_seq[f"hint:{ext}"] = self._seq
        return some(self.lines.set_hint(ext, hint_status(msg.get("Status", ""))))

    def _on_contactstatus(self, msg: Msg) -> list[CallEvent]:
        endpoint = msg.get("EndpointName") or msg.get("AOR", "")
        status = msg.get("ContactStatus", "")
        return self._registration(f"PJSIP/{endpoint}", status)

    def _on_peerstatus(self, msg: Msg) -> list[CallEvent]:
        return self._registration(msg.get("Peer", ""), msg.get("PeerStatus", ""))

    def _registration(self, device: str, status: str) -> list[CallEvent]:
        ext = self.directory.extension_of_device(device)
        if ext is None or not status:
            return NOTHING
        registered = status.lower() not in _OFFLINE_CONTACT
        return some(self.lines.set_registered(ext, registered=registered))


def _line_view(extension: str, line: Line) -> LineView:
    return LineView(extension, line.status, line.call_id, tuple(line.devices.items()), line.queue_view)


def _published(line: Line) -> tuple[LineStatus, str | None, tuple[QueueMembership, ...]]:
    return line.status, line.call_id, line.queue_view


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


__all__ = ["ENDED_UNSEEN", "CallTracker"]


def _duration_s(text: str) -> float:
    """CoreShowChannels' Duration ("HH:MM:SS", the channel's age) in seconds; 0 when absent or unreadable."""
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return 0.0
    hours, minutes, seconds = (int(p) for p in parts)
    return float(hours * 3600 + minutes * 60 + seconds)
