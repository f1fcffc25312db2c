"""The call tracker: AMI events (plain dicts) in, domain events out. Pure: no I/O, no clock, no asyncio.

A call is a linkedid. Its caller is the party of its first channel (the one whose uniqueid is the
linkedid): that stays the real caller through transfers, where the connected line of the target's phone
would show the receptionist. Every other channel is a leg someone dialled; an extension's leg rings when
its channel reaches Ringing and is answered when it reaches Up, whatever event carries the news (Newstate,
a Dial* snapshot, a list item), so the unstable order of Asterisk's events does not matter and a call
already under way when we connect is adopted from the first event that mentions it.

Transfers: BlindTransfer and AttendedTransfer events say so; a Redirect says nothing, so it is inferred
(the caller, left by the extension that answered, dials another extension). An attended transfer made
from a phone consults in a second call; when it completes, the target's legs join the transferred call and
the target's pop is updated to show the real caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallerChanged,
    CallEvent,
    CallRinging,
    CallTransferred,
    DismissReason,
    LineChanged,
    LineStatus,
    Party,
    RingStopped,
    TransferMode,
)
from cti_daemon.ami.calls import (
    NOBODY,
    RINGING,
    UP,
    Call,
    CallView,
    Channel,
    LineView,
    merged_caller,
    party,
    view_of,
)
from cti_daemon.ami.directory import LineDirectory, device_of_channel
from cti_daemon.ami.lines import LineBook, device_status, hint_status

Msg = Mapping[str, str]
_NOTHING: list[CallEvent] = []
_GONE_MEMORY = 4096  # hung-up channels remembered, so late events and a resync do not revive them
ENDED_UNSEEN = (0, "ended while the AMI link was down")
_FAILED_DIAL = frozenset(
    {"BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION", "DONTCALL", "TORTURE", "INVALIDARGS"}
)
# AMI ChannelState -> 0 tells nothing (Down, or not a state), 1 ringing (Ringing, Pre-ring), 2 in use (the
# rest: off-hook, dialling, ring (the caller's side), up, busy), as Asterisk's own device state reads them.
_STATE_RANK = {"1": 2, "2": 2, "3": 2, "4": 2, RINGING: 1, UP: 2, "7": 2, "8": 2, "9": 2, "10": 1}
_OFFLINE_CONTACT = frozenset({"removed", "unreachable", "unregistered", "rejected", "unknown"})


class CallTracker:
    def __init__(self, directory: LineDirectory) -> None:
        self.directory = directory
        self.lines = LineBook()
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self.bridges: dict[str, set[str]] = {}
        self._ext_channels: dict[str, set[str]] = {}
        self._gone: dict[str, None] = {}
        self._seq = 0
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
            return _NOTHING
        self._seq += 1
        return handler(msg)

    # --- read-only views -----------------------------------------------------------------------------
    def call_views(self) -> list[CallView]:
        return [view_of(call, self.channels) for call in self.calls.values()]

    def call_view(self, call_id: str) -> CallView | None:
        call = self.calls.get(call_id)
        return view_of(call, self.channels) if call is not None else None

    def line_views(self) -> list[LineView]:
        return [LineView(ext, line.status, line.call_id) for ext, line in sorted(self.lines.lines().items())]

    def line_view(self, extension: str) -> LineView | None:
        line = self.lines.lines().get(extension)
        return LineView(extension, line.status, line.call_id) if line is not None else None

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
            out.extend(self._on_snapshot(item, adopting=True))
            adopted = self.channels.get(item.get("Uniqueid", ""))
            if adopted is not None:
                self._set_bridge(adopted, item.get("BridgeId") or None)
        return out

    # --- channel bookkeeping -------------------------------------------------------------------------
    def _upsert(self, msg: Msg, prefix: str = "") -> tuple[Channel | None, str | None]:
        """The channel a snapshot describes, refreshed; and its state before (None: new to us)."""
        uid = msg.get(f"{prefix}Uniqueid")
        if not uid or uid in self._gone:
            return None, None  # a late event about a channel already hung up must not revive it
        chan = self.channels.get(uid)
        old: str | None
        if chan is None:
            name = msg.get(f"{prefix}Channel")
            if not name:
                return None, None
            chan = Channel(uid, name, uid, self.directory.extension_of_channel(name), born=self._seq)
            self.channels[uid] = chan
            if chan.extension is not None:
                self._ext_channels.setdefault(chan.extension, set()).add(uid)
            self._join(chan, msg.get(f"{prefix}Linkedid") or uid)
            old = None
        else:
            old = chan.state
            linkedid = msg.get(f"{prefix}Linkedid")
            if linkedid and linkedid != chan.linkedid:
                self._leave(chan)
                self._join(chan, linkedid)
        chan.seq = self._seq
        chan.state = msg.get(f"{prefix}ChannelState", chan.state)
        if f"{prefix}CallerIDNum" in msg:
            chan.caller = party(msg, prefix, "CallerID")
            chan.connected = party(msg, prefix, "ConnectedLine")
        if chan.origin:
            call = self.calls[chan.linkedid]
            call.caller = chan.caller = merged_caller(call.caller, chan.caller)
        return chan, old

    def _join(self, chan: Channel, linkedid: str) -> None:
        chan.linkedid = linkedid
        call = self.calls.get(linkedid)
        if call is None:
            call = self.calls[linkedid] = Call(linkedid)
        call.channels.add(chan.uniqueid)

    def _leave(self, chan: Channel) -> None:
        call = self.calls.get(chan.linkedid)
        if call is None:
            return
        call.channels.discard(chan.uniqueid)
        ext = chan.extension
        if ext is not None:
            ringing = call.ringing.get(ext)
            if ringing is not None:
                ringing.discard(chan.uniqueid)
                if not ringing:
                    del call.ringing[ext]
            if ext in call.talking and not self._ext_up_in(call, ext, excluding=chan.uniqueid):
                call.talking.discard(ext)

    def _caller_for(self, call: Call, chan: Channel | None) -> Party:
        # The first channel's caller id; for a call adopted mid-way (its first channel unseen), what the
        # ringing phone shows: its connected line.
        if call.caller is not None:
            return call.caller
        return chan.connected if chan is not None else NOBODY

    def _ext_up_in(self, call: Call, ext: str, excluding: str = "") -> bool:
        for uid in self._ext_channels.get(ext, ()):
            chan = self.channels[uid]
            if uid != excluding and chan.linkedid == call.call_id and chan.state == UP:
                return True
        return False

    def _set_bridge(self, chan: Channel, bridge: str | None) -> None:
        if chan.bridge is not None:
            members = self.bridges.get(chan.bridge)
            if members is not None:
                members.discard(chan.uniqueid)
                if not members:
                    del self.bridges[chan.bridge]
        chan.bridge = bridge
        if bridge is not None:
            self.bridges.setdefault(bridge, set()).add(chan.uniqueid)

    # --- handlers ------------------------------------------------------------------------------------
    def _on_snapshot(self, msg: Msg, *, adopting: bool = False) -> list[CallEvent]:
        chan, old = self._upsert(msg)
        if chan is None or chan.extension is None or chan.state == old:
            return _NOTHING
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
            return _NOTHING
        out: list[CallEvent] = []
        ext = self.directory.extension_of_channel(new)
        if ext != chan.extension:
            old_ext = chan.extension
            self._leave(chan)
            if old_ext is not None:
                self._ext_channels.get(old_ext, set()).discard(chan.uniqueid)
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
            return _NOTHING
        return self._hangup(chan, (_int(msg.get("Cause", "0")), msg.get("Cause-txt", "")))

    def _hangup(self, chan: Channel, cause: tuple[int, str]) -> list[CallEvent]:
        del self.channels[chan.uniqueid]
        self._gone[chan.uniqueid] = None
        if len(self._gone) > _GONE_MEMORY:
            del self._gone[next(iter(self._gone))]
        self._set_bridge(chan, None)
        call = self.calls.get(chan.linkedid)
        if call is None:
            return _NOTHING
        if chan.uniqueid == call.call_id or call.end_cause is None:
            call.end_cause = cause
        call.channels.discard(chan.uniqueid)
        out: list[CallEvent] = []
        ext = chan.extension
        if ext is not None:
            self._ext_channels.get(ext, set()).discard(chan.uniqueid)
            if not self._ext_channels.get(ext, True):
                del self._ext_channels[ext]
            reason: DismissReason = "answered_elsewhere" if cause[0] == 26 else "ended"
            out.extend(self._stop_ringing(call, chan, reason))
            if ext in call.talking and not self._ext_up_in(call, ext):
                call.talking.discard(ext)
            out.extend(self._line_from_channels(ext))
        if not call.channels:
            del self.calls[call.call_id]
            out.extend(RingStopped(call.call_id, ringing_ext, "ended") for ringing_ext in call.ringing)
            code, text = call.end_cause
            out.append(CallEnded(call.call_id, code, text))
        return out

    # --- transfers -----------------------------------------------------------------------------------
    def _on_blind_transfer(self, msg: Msg) -> list[CallEvent]:
        if msg.get("Result") != "Success":
            return _NOTHING
        transferee = self.channels.get(msg.get("TransfereeUniqueid", ""))
        call_id = transferee.linkedid if transferee is not None else msg.get("TransfereeLinkedid", "")
        call = self.calls.get(call_id)
        if call is None:
            return _NOTHING
        target = msg.get("Extension", "")
        to = target if self.directory.is_extension(target) else None
        return self._transferred(call, "blind", self._ext_of(msg, "Transferer"), to)

    def _on_attended_transfer(self, msg: Msg) -> list[CallEvent]:
        if msg.get("Result") != "Success":
            return _NOTHING
        call = self.calls.get(msg.get("TransfereeLinkedid") or msg.get("OrigTransfererLinkedid", ""))
        if call is None:
            return _NOTHING
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
                    self._leave(chan)
                    self._join(chan, call.call_id)
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
            return _NOTHING
        return self._transferred(call, "redirect", call.answered[-1], to)

    def _ext_of(self, msg: Msg, prefix: str) -> str | None:
        chan = self.channels.get(msg.get(f"{prefix}Uniqueid", ""))
        if chan is not None:
            return chan.extension
        name = msg.get(f"{prefix}Channel")
        return self.directory.extension_of_channel(name) if name else None

    # --- transitions ---------------------------------------------------------------------------------
    def _changed(self, chan: Channel, *, adopting: bool) -> list[CallEvent]:
        """An extension channel's state changed (or we just learnt of it)."""
        ext = chan.extension
        assert ext is not None
        call = self.calls[chan.linkedid]
        out: list[CallEvent] = _NOTHING
        if not chan.origin:
            if chan.state == RINGING:
                out = self._start_ringing(call, chan)
            elif chan.state == UP:
                out = self._answered(call, chan, adopting=adopting)
        lines = self._line_from_channels(ext)
        return out + lines if lines else out

    def _start_ringing(self, call: Call, chan: Channel) -> list[CallEvent]:
        ext = chan.extension
        assert ext is not None
        if ext in call.talking:
            return _NOTHING
        ringing = call.ringing.get(ext)
        if ringing is not None:
            ringing.add(chan.uniqueid)  # a second device of the same line: still one pop
            return _NOTHING
        call.ringing[ext] = {chan.uniqueid}
        shown = call.shown[ext] = self._caller_for(call, chan)
        return [CallRinging(call.call_id, ext, shown, chan.name)]

    def _answered(self, call: Call, chan: Channel, *, adopting: bool) -> list[CallEvent]:
        ext = chan.extension
        assert ext is not None
        if ext in call.talking:
            return _NOTHING
        out: list[CallEvent] = []
        call.ringing.pop(ext, None)
        shown = call.shown.get(ext)
        if shown is None:
            shown = call.shown[ext] = self._caller_for(call, chan)
            if not adopting:  # answered without ringing first (auto-answer): the card is still wanted
                out.append(CallRinging(call.call_id, ext, shown, chan.name))
        call.talking.add(ext)
        if ext not in call.answered:
            call.answered.append(ext)
        call.transfer_to = None
        out.append(CallAnswered(call.call_id, ext, shown))
        for other in list(call.ringing):
            del call.ringing[other]
            out.append(RingStopped(call.call_id, other, "answered_elsewhere"))
        return out

    def _stop_ringing(self, call: Call, chan: Channel, reason: DismissReason) -> list[CallEvent]:
        ext = chan.extension
        assert ext is not None
        ringing = call.ringing.get(ext)
        if ringing is None or chan.uniqueid not in ringing:
            return _NOTHING
        ringing.discard(chan.uniqueid)
        if ringing:
            return _NOTHING  # another device of this line still rings
        del call.ringing[ext]
        return [RingStopped(call.call_id, ext, "answered_elsewhere" if call.talking else reason)]

    def _identity_changes(self, call: Call) -> list[CallEvent]:
        """Pops follow the caller's identity: a NewCallerid on the first channel, or, in a call adopted
        mid-way, a NewConnectedLine on the ringing phone."""
        changed: dict[Party, list[str]] = {}
        for ext, shown in call.shown.items():
            if ext not in call.ringing and ext not in call.talking:
                continue
            now = call.caller if call.caller is not None else self._shown_by_phone(call, ext, shown)
            if now != shown:
                changed.setdefault(now, []).append(ext)
        out: list[CallEvent] = []
        for now, exts in changed.items():
            for ext in exts:
                call.shown[ext] = now
            out.append(CallerChanged(call.call_id, now, tuple(sorted(exts))))
        return out

    def _shown_by_phone(self, call: Call, ext: str, shown: Party) -> Party:
        for uid in self._ext_channels.get(ext, ()):
            chan = self.channels[uid]
            if chan.linkedid == call.call_id and chan.connected.number:
                return chan.connected
        return shown

    def _line_from_channels(self, ext: str) -> list[CallEvent]:
        """A line's status as its channels tell it (what Asterisk's device state would say: Ringing is
        ringing, any other state but Down is in use) and the call of its busiest, newest channel."""
        best: tuple[int, int] = (-1, -1)
        call_id: str | None = None
        for uid in self._ext_channels.get(ext, ()):
            chan = self.channels[uid]
            rank = (_STATE_RANK.get(chan.state, 0), chan.born)
            if rank > best:
                best, call_id = rank, chan.linkedid
        status = (None, LineStatus.RINGING, LineStatus.TALKING)[best[0]] if best[0] >= 0 else None
        return _some(self.lines.set_from_channels(ext, status, call_id))

    # --- lines ---------------------------------------------------------------------------------------
    def _on_devicestate(self, msg: Msg) -> list[CallEvent]:
        device = msg.get("Device", "")
        ext = self.directory.extension_of_device(device)
        if ext is None:
            return _NOTHING
        self._input_seq[device.lower()] = self._seq
        return _some(self.lines.set_device(ext, device, device_status(msg.get("State", ""))))

    def _on_extensionstatus(self, msg: Msg) -> list[CallEvent]:
        ext = msg.get("Exten", "")
        if not self.directory.is_extension(ext):
            return _NOTHING
        self._input_seq[f"hint:{ext}"] = self._seq
        return _some(self.lines.set_hint(ext, hint_status(msg.get("Status", ""))))

    def _on_contactstatus(self, msg: Msg) -> list[CallEvent]:
        endpoint = msg.get("EndpointName") or msg.get("AOR", "")
        status = msg.get("ContactStatus", "")
        return self._registration(f"PJSIP/{endpoint}", status)

    def _on_peerstatus(self, msg: Msg) -> list[CallEvent]:
        return self._registration(msg.get("Peer", ""), msg.get("PeerStatus", ""))

    def _registration(self, device: str, status: str) -> list[CallEvent]:
        ext = self.directory.extension_of_device(device)
        if ext is None or not status:
            return _NOTHING
        registered = status.lower() not in _OFFLINE_CONTACT
        return _some(self.lines.set_registered(ext, registered=registered))


def _some(event: LineChanged | None) -> list[CallEvent]:
    return [event] if event is not None else _NOTHING


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


__all__ = ["ENDED_UNSEEN", "CallTracker", "device_of_channel"]
