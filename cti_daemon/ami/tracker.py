"""The call tracker: AMI events (plain dicts) in, domain events out. Pure: no I/O, no clock, no asyncio.

Every event that carries a channel snapshot refreshes that channel (call_state.py), so the unstable order
of Asterisk's events does not matter and a call already under way when we connect is adopted from the first
event that mentions it. List items (they carry an ActionID) are not live news.

Transfers: BlindTransfer and AttendedTransfer events say so; a Redirect says nothing, so it is inferred
(the caller, left by the extension that answered, dials another extension). An attended transfer made
from a phone consults in a second call; when it completes, the target's legs join the transferred call and
the target's pop is updated to show the real caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from cti_daemon.ami.call_events import (
    CallerChanged,
    CallEvent,
    CallRinging,
    CallTransferred,
    LineChanged,
    LineStatus,
    RingStopped,
    TransferMode,
)
from cti_daemon.ami.call_state import NOTHING, CallState, Msg, some
from cti_daemon.ami.calls import Call, CallView, LineView, view_of
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.lines import Line, device_status, hint_status

ENDED_UNSEEN = (0, "ended while the AMI link was down")
_FAILED_DIAL = frozenset(
    {"BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION", "DONTCALL", "TORTURE", "INVALIDARGS"}
)
_OFFLINE_CONTACT = frozenset({"removed", "unreachable", "unregistered", "rejected", "unknown"})


class CallTracker(CallState):
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
            "Hangup": self._on_hangup,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
            "DeviceStateChange": self._on_devicestate,
            "ExtensionStatus": self._on_extensionstatus,
            "ContactStatus": self._on_contactstatus,
            "PeerStatus": self._on_peerstatus,
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
        since: int | None = None,
    ) -> list[CallEvent]:
        """Correct the state from Asterisk's lists (DeviceStateList, ExtensionStateList, CoreShowChannels
        items; None for a list we could not get). Calls that ended unseen end, calls that started are
        adopted (a ringing one rings, so its pop goes out), lines take their true state. Only the changes
        are returned, lines last."""
        before = {ext: (line.status, line.call_id) for ext, line in self.lines.lines().items()}
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
        events: list[CallEvent] = [e for e in out if not isinstance(e, LineChanged)]
        for ext, line in sorted(self.lines.lines().items()):
            if before.get(ext, (LineStatus.UNKNOWN, None)) != (line.status, line.call_id):
                events.append(LineChanged(ext, line.status, line.call_id))
        return events

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
        if dest is None or dest.extension is None or dest.origin:
            return out
        call = self.calls[dest.linkedid]
        status = msg.get("DialStatus", "")
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

    def _on_hangup(self, msg: Msg) -> list[CallEvent]:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        if chan is None:
            return NOTHING
        return self._hangup(chan, (_int(msg.get("Cause", "0")), msg.get("Cause-txt", "")))

    # --- transfers -----------------------------------------------------------------------------------
    def _on_blind_transfer(self, msg: Msg) -> list[CallEvent]:
        if msg.get("Result") != "Success":
            return NOTHING
        transferee = self.channels.get(msg.get("TransfereeUniqueid", ""))
        call_id = transferee.linkedid if transferee is not None else msg.get("TransfereeLinkedid", "")
        call = self.calls.get(call_id)
        if call is None:
            return NOTHING
        target = msg.get("Extension", "")
        to = target if self.directory.is_extension(target) else None
        return self._transferred(call, "blind", self._ext_of(msg, "Transferer"), to)

    def _on_attended_transfer(self, msg: Msg) -> list[CallEvent]:
        if msg.get("Result") != "Success":
            return NOTHING
        call = self.calls.get(msg.get("TransfereeLinkedid") or msg.get("OrigTransfererLinkedid", ""))
        if call is None:
            return NOTHING
        by = self._ext_of(msg, "OrigTransferer") or self._ext_of(msg, "SecondTransferer")
        consult = self.calls.get(msg.get("SecondTransfererLinkedid", "")) or call
        to = self._ext_of(msg, "TransferTarget")
        if to is None:  # Asterisk names the target only when it is a channel, not a bridge
            to = next((ext for ext in consult.answered if ext in consult.talking and ext != by), None)
        out = self._transferred(call, "attended", by, to)
        if to is not None:
            call.talking.add(to)
            if to not in call.answered:
                call.answered.append(to)
            call.transfer_to = None
        if to is not None and consult is not call:
            # The consultation's target joins the transferred call (Asterisk moves its linkedid too);
            # its pop, opened for the consultation, now shows the real caller.
            for uid in list(self._ext_channels.get(to, ())):
                chan = self.channels[uid]
                if chan.linkedid == consult.call_id:
                    self._move(chan, call.call_id)
            real = self._caller_for(call, None)
            if consult.shown.get(to) not in (None, real):
                consult.shown[to] = real
                out.append(CallerChanged(consult.call_id, real, (to,)))
            call.shown[to] = real
            out.extend(self._line_from_channels(to))
        return out

    def _transferred(self, call: Call, mode: TransferMode, by: str | None, to: str | None) -> list[CallEvent]:
        out: list[CallEvent] = [CallTransferred(call.call_id, mode, by, to)]
        call.transfer_to = to or "?"
        if by is not None and (by in call.shown or by in call.talking):
            call.talking.discard(by)
            call.ringing.pop(by, None)
            out.append(RingStopped(call.call_id, by, "transferred"))
        return out

    def _detect_redirect(self, call: Call, to: str) -> list[CallEvent]:
        """A Redirect emits no transfer event: the caller just dials another extension after the one
        that answered has gone. That, and no transfer announced, is a redirect."""
        if call.transfer_to is not None or call.talking or not call.answered or to in call.ringing:
            return NOTHING
        return self._transferred(call, "redirect", call.answered[-1], to)

    def _ext_of(self, msg: Msg, prefix: str) -> str | None:
        chan = self.channels.get(msg.get(f"{prefix}Uniqueid", ""))
        if chan is not None:
            return chan.extension
        name = msg.get(f"{prefix}Channel")
        return self.directory.extension_of_channel(name) if name else None

    # --- lines ---------------------------------------------------------------------------------------
    def _on_devicestate(self, msg: Msg) -> list[CallEvent]:
        device = msg.get("Device", "")
        ext = self.directory.extension_of_device(device)
        if ext is None:
            return NOTHING
        self._input_seq[device.lower()] = self._seq
        return some(self.lines.set_device(ext, device, device_status(msg.get("State", ""))))

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
    return LineView(extension, line.status, line.call_id, tuple(line.devices.items()))


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
