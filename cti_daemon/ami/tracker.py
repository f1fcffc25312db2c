"""The call tracker: AMI events (plain dicts) in, domain events out. Pure: no I/O, no clock, no asyncio.

A call is a linkedid. The caller is the party of the call's first channel (the one whose uniqueid is the
linkedid): that stays the real caller through transfers, where the connected line of the target's phone
would show the receptionist. Each event's channel snapshot refreshes what we know of the channel, so a
call that was already up when we connected is adopted from the first event that mentions it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cti_daemon.ami.call_events import (
    CallAnswered,
    CallEnded,
    CallerChanged,
    CallEvent,
    CallRinging,
    DismissReason,
    LineChanged,
    LineStatus,
    Party,
    RingStopped,
)
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.lines import LineBook, device_status, hint_status

Msg = Mapping[str, str]
_NOTHING: list[CallEvent] = []

RINGING_STATES = {"5"}  # ChannelState 5 Ringing (the phone rings)
UP_STATES = {"6"}
_UNKNOWN_IDS = {"", "<unknown>", "<Unknown>"}
NOBODY = Party("", "")


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    extension: str | None
    state: str = "0"
    caller: Party = NOBODY
    connected: Party = NOBODY


@dataclass(slots=True)
class Call:
    call_id: str
    caller: Party | None = None
    channels: set[str] = field(default_factory=set)
    ringing: dict[str, set[str]] = field(default_factory=dict)  # extension -> ringing channel uniqueids
    talking: set[str] = field(default_factory=set)  # extensions in the call, answered
    end_cause: tuple[int, str] | None = None


def _party(msg: Msg, prefix: str, kind: str) -> Party:
    number = msg.get(f"{prefix}{kind}Num", "")
    name = msg.get(f"{prefix}{kind}Name", "")
    # A caller id number is kept as the PBX sent it ("<unknown>" included: the pop shows what the PBX
    # said); a connected line that is "<unknown>" just means Asterisk has not learnt it yet.
    if kind == "ConnectedLine" and number in _UNKNOWN_IDS:
        number = ""
    return Party(number, "" if name in _UNKNOWN_IDS else name)


class CallTracker:
    def __init__(self, directory: LineDirectory) -> None:
        self.directory = directory
        self.lines = LineBook()
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self._ext_channels: dict[str, int] = {}  # live channels per extension, for channel-derived status
        self._handlers: dict[str, Callable[[Msg], list[CallEvent]]] = {
            "Newchannel": self._on_newchannel,
            "Newstate": self._on_newstate,
            "NewCallerid": self._on_newcallerid,
            "NewConnectedLine": self._on_snapshot,
            "DialBegin": self._on_dialbegin,
            "DialEnd": self._on_dialend,
            "Hangup": self._on_hangup,
            "DeviceStateChange": self._on_devicestate,
            "ExtensionStatus": self._on_extensionstatus,
        }

    def handle(self, msg: Msg) -> list[CallEvent]:
        handler = self._handlers.get(msg.get("Event", ""))
        if handler is None:
            return _NOTHING
        return handler(msg)

    # --- channel bookkeeping -------------------------------------------------------------------------
    def _upsert(self, msg: Msg, prefix: str = "") -> Channel | None:
        uid = msg.get(f"{prefix}Uniqueid")
        name = msg.get(f"{prefix}Channel")
        if not uid or not name:
            return None
        chan = self.channels.get(uid)
        if chan is None:
            linkedid = msg.get(f"{prefix}Linkedid") or uid
            chan = Channel(uid, name, linkedid, self.directory.extension_of_channel(name))
            self.channels[uid] = chan
            if chan.extension is not None:
                self._ext_channels[chan.extension] = self._ext_channels.get(chan.extension, 0) + 1
            call = self.calls.get(linkedid)
            if call is None:
                call = self.calls[linkedid] = Call(linkedid)
            call.channels.add(uid)
        chan.state = msg.get(f"{prefix}ChannelState", chan.state)
        chan.caller = _party(msg, prefix, "CallerID")
        chan.connected = _party(msg, prefix, "ConnectedLine")
        if chan.uniqueid == chan.linkedid:
            self.calls[chan.linkedid].caller = chan.caller
        return chan

    def _caller_for(self, call: Call, chan: Channel | None) -> Party:
        # The first channel's caller id, unless we never saw that channel (adopted mid-call) or the ringing
        # line is that channel itself: then what the phone shows, its connected line.
        if call.caller is not None and (chan is None or chan.uniqueid != call.call_id):
            return call.caller
        return chan.connected if chan is not None else NOBODY

    # --- handlers ------------------------------------------------------------------------------------
    def _on_newchannel(self, msg: Msg) -> list[CallEvent]:
        self._upsert(msg)
        return _NOTHING

    def _on_snapshot(self, msg: Msg) -> list[CallEvent]:
        self._upsert(msg)
        return _NOTHING

    def _on_newcallerid(self, msg: Msg) -> list[CallEvent]:
        chan = self.channels.get(msg.get("Uniqueid", ""))
        before = chan.caller if chan is not None else None
        chan = self._upsert(msg)
        if chan is None or chan.uniqueid != chan.linkedid or chan.caller == before:
            return _NOTHING
        call = self.calls[chan.linkedid]
        shown = tuple(sorted(set(call.ringing) | call.talking))
        return [CallerChanged(call.call_id, chan.caller, shown)] if shown else _NOTHING

    def _on_newstate(self, msg: Msg) -> list[CallEvent]:
        chan = self._upsert(msg)
        if chan is None or chan.extension is None:
            return _NOTHING
        call = self.calls[chan.linkedid]
        if chan.state in RINGING_STATES:
            return self._start_ringing(call, chan)
        if chan.state in UP_STATES and chan.extension in call.ringing:
            return self._answered(call, chan.extension)
        return _NOTHING

    def _on_dialbegin(self, msg: Msg) -> list[CallEvent]:
        self._upsert(msg)
        dest = self._upsert(msg, "Dest")
        if dest is None or dest.extension is None:
            return _NOTHING
        return self._start_ringing(self.calls[dest.linkedid], dest)

    def _on_dialend(self, msg: Msg) -> list[CallEvent]:
        self._upsert(msg)
        dest = self._upsert(msg, "Dest")
        if dest is None or dest.extension is None:
            return _NOTHING
        call = self.calls[dest.linkedid]
        if msg.get("DialStatus") == "ANSWER":
            return self._answered(call, dest.extension)
        return self._stop_ringing(call, dest, "ended")

    def _on_hangup(self, msg: Msg) -> list[CallEvent]:
        chan = self.channels.pop(msg.get("Uniqueid", ""), None)
        if chan is None:
            return _NOTHING
        call = self.calls.get(chan.linkedid)
        if call is None:
            return _NOTHING
        out: list[CallEvent] = []
        cause = (_int(msg.get("Cause", "0")), msg.get("Cause-txt", ""))
        if chan.uniqueid == call.call_id or call.end_cause is None:
            call.end_cause = cause
        call.channels.discard(chan.uniqueid)
        ext = chan.extension
        if ext is not None:
            left = self._ext_channels.get(ext, 1) - 1
            if left > 0:
                self._ext_channels[ext] = left
            else:
                self._ext_channels.pop(ext, None)
            reason: DismissReason = "answered_elsewhere" if cause[0] == 26 else "ended"
            out.extend(self._stop_ringing(call, chan, reason))
            if ext in call.talking and not self._ext_in_call(call, ext):
                call.talking.discard(ext)
            if left <= 0:
                out.extend(_some(self.lines.set_from_channels(ext, LineStatus.READY)))
        if not call.channels:
            del self.calls[call.call_id]
            out.extend(RingStopped(call.call_id, ringing_ext, "ended") for ringing_ext in call.ringing)
            code, text = call.end_cause
            out.append(CallEnded(call.call_id, code, text))
        return out

    def _on_devicestate(self, msg: Msg) -> list[CallEvent]:
        device = msg.get("Device", "")
        ext = self.directory.extension_of_device(device)
        if ext is None:
            return _NOTHING
        return _some(self.lines.set_device(ext, device, device_status(msg.get("State", ""))))

    def _on_extensionstatus(self, msg: Msg) -> list[CallEvent]:
        ext = msg.get("Exten", "")
        if not self.directory.is_extension(ext):
            return _NOTHING
        return _some(self.lines.set_hint(ext, hint_status(msg.get("Status", ""))))

    # --- transitions ---------------------------------------------------------------------------------
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
        out: list[CallEvent] = [CallRinging(call.call_id, ext, self._caller_for(call, chan), chan.name)]
        out.extend(_some(self.lines.set_from_channels(ext, LineStatus.RINGING, call.call_id)))
        return out

    def _answered(self, call: Call, ext: str) -> list[CallEvent]:
        if ext in call.talking:
            return _NOTHING
        call.talking.add(ext)
        call.ringing.pop(ext, None)
        out: list[CallEvent] = [CallAnswered(call.call_id, ext, self._caller_for(call, None))]
        for other in list(call.ringing):
            del call.ringing[other]
            out.append(RingStopped(call.call_id, other, "answered_elsewhere"))
        out.extend(_some(self.lines.set_from_channels(ext, LineStatus.TALKING, call.call_id)))
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

    def _ext_in_call(self, call: Call, ext: str) -> bool:
        return any(self.channels[u].extension == ext for u in call.channels if u in self.channels)


def _some(event: LineChanged | None) -> list[CallEvent]:
    return [event] if event is not None else _NOTHING


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
