"""The tracker's state and what can happen to it: channels, calls (a call is a linkedid), bridges, and the
transitions of an extension's leg (rings, answered, stops ringing, hangs up) with the domain events each
one produces. `CallTracker` (tracker.py) maps AMI events onto these.

A call's caller is the party of its first channel (the one whose uniqueid is the linkedid): that stays the
real caller through transfers, where the connected line of the target's phone would show the
receptionist. Every other channel is a leg someone dialled: an extension's leg rings when its channel
reaches Ringing and is answered when it reaches Up, whatever event carries the news.
"""

from __future__ import annotations

from collections.abc import Mapping

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
from cti_daemon.ami.calls import NOBODY, RINGING, UP, Call, Channel, merged_caller, party
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.lines import LineBook

Msg = Mapping[str, str]
NOTHING: list[CallEvent] = []
_GONE_MEMORY = 4096  # hung-up channels remembered, so late events and a resync do not revive them
# AMI ChannelState -> 0 tells nothing (Down, or not a state), 1 ringing (Ringing, Pre-ring), 2 in use (the
# rest: off-hook, dialling, ring (the caller's side), up, busy), as Asterisk's own device state reads them.
_SNAPSHOT_KEYS = {
    prefix: tuple(
        prefix + key
        for key in (
            "Uniqueid",
            "Channel",
            "Linkedid",
            "ChannelState",
            "CallerIDNum",
            "CallerIDName",
            "ConnectedLineNum",
            "ConnectedLineName",
        )
    )
    for prefix in ("", "Dest")
}
_STATE_RANK = {"1": 2, "2": 2, "3": 2, "4": 2, RINGING: 1, UP: 2, "7": 2, "8": 2, "9": 2, "10": 1}


class CallState:
    def __init__(self, directory: LineDirectory) -> None:
        self.directory = directory
        self.lines = LineBook()
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self.bridges: dict[str, set[str]] = {}
        self._ext_channels: dict[str, set[str]] = {}
        self._gone: dict[str, None] = {}
        self._seq = 0
        self.originating: dict[str, Party] = {}  # click to dial: call id -> the number it will dial
        self.aside: list[
            CallEvent
        ] = []  # events found deep in the bookkeeping, handed out with the next ones

    def _upsert(self, msg: Msg, prefix: str = "") -> tuple[Channel | None, str | None]:
        """The channel a snapshot describes, refreshed; and its state before (None: new to us)."""
        k_uid, k_name, k_linked, k_state, k_num, k_cname, k_lnum, k_lname = _SNAPSHOT_KEYS[prefix]
        uid = msg.get(k_uid)
        if not uid or uid in self._gone:
            return None, None  # a late event about a channel already hung up must not revive it
        chan = self.channels.get(uid)
        old: str | None
        if chan is None:
            name = msg.get(k_name)
            if not name:
                return None, None
            chan = Channel(uid, name, uid, self.directory.extension_of_channel(name), born=self._seq)
            self.channels[uid] = chan
            if chan.extension is not None:
                self._ext_channels.setdefault(chan.extension, set()).add(uid)
            self._join(chan, msg.get(k_linked) or uid)
            old = None
        else:
            old = chan.state
            linkedid = msg.get(k_linked)
            if linkedid and linkedid not in (chan.linkedid, chan.stale_linkedid):
                self._move(chan, linkedid)
        chan.seq = self._seq
        chan.state = msg.get(k_state, chan.state)
        num = msg.get(k_num)
        if num is not None:
            raw = (num, msg.get(k_cname, ""), msg.get(k_lnum, ""), msg.get(k_lname, ""))
            if raw != chan.raw_ids:  # most events repeat the same ids: no new Party for them
                chan.raw_ids = raw
                chan.caller = party(raw[0], raw[1])
                chan.connected = party(raw[2], raw[3], connected=True)
                if chan.uniqueid == chan.linkedid:
                    call = self.calls[chan.linkedid]
                    if not call.caller_handed_over:
                        call.caller = chan.caller = merged_caller(call.caller, chan.caller)
        return chan, old

    def _move(self, chan: Channel, linkedid: str, *, quiet: bool = False) -> None:
        """Asterisk moved the channel to another call (a new linkedid, after a transfer). A call left with no
        channel was merged into the other one: its id ends (`quiet`: silently, it was never a call of its
        own to anyone, as a picker's way to the call it picks up)."""
        old = self.calls.get(chan.linkedid)
        self._leave(chan)
        self._join(chan, linkedid)
        if old is not None and not old.channels and self.calls.get(old.call_id) is old:
            del self.calls[old.call_id]
            if not quiet:
                self.aside.extend(RingStopped(old.call_id, ext, "ended") for ext in old.ringing)
                self.aside.append(self._ended(old, (0, f"merged into call {linkedid}")))

    def _ended(self, call: Call, cause: tuple[int, str]) -> CallEnded:
        caller = call.caller if call.caller is not None else next(iter(call.shown.values()), None)
        last_rung = next(reversed(call.shown), None) if call.shown else None
        extension = call.answered[-1] if call.answered else last_rung
        if caller is not None and not (caller.number or caller.name):
            caller = None
        return CallEnded(call.call_id, cause[0], cause[1], caller, extension)

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

    def _hangup(self, chan: Channel, cause: tuple[int, str]) -> list[CallEvent]:
        del self.channels[chan.uniqueid]
        self._gone[chan.uniqueid] = None
        if len(self._gone) > _GONE_MEMORY:
            del self._gone[next(iter(self._gone))]
        self._set_bridge(chan, None)
        call = self.calls.get(chan.linkedid)
        if call is None:
            return NOTHING
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
            if chan.uniqueid in call.deflected:
                call.deflected.discard(chan.uniqueid)
                reason = "transferred"
            # Cause 26: a ring group's loser that only began to ring after the winner answered.
            if ext in call.consulting and cause[0] != 26 and not self._ext_in(call, ext):
                reason = "transfer_cancelled"
                out.extend(self._consultation_ended(call, ext))
            out.extend(self._stop_ringing(call, chan, reason))
            if ext in call.talking and not self._ext_up_in(call, ext):
                call.talking.discard(ext)
            out.extend(self._line_from_channels(ext))
        if not call.channels:
            del self.calls[call.call_id]
            out.extend(RingStopped(call.call_id, ringing_ext, "ended") for ringing_ext in call.ringing)
            out.append(self._ended(call, call.end_cause))
        return out

    def _consultation_ended(self, call: Call, ext: str) -> list[CallEvent]:
        """An attended transfer's target left before the transfer was made (cancelled: Asterisk says so
        only by the target's hangup): its pop, opened for the consultation, must close; the call was not
        its to take."""
        call.consulting.discard(ext)
        if ext in call.ringing or ext not in call.talking:
            return NOTHING  # still ringing: _stop_ringing closes it, with the same reason
        call.talking.discard(ext)
        if ext in call.answered:
            call.answered.remove(ext)
        return [RingStopped(call.call_id, ext, "transfer_cancelled")] if ext in call.shown else NOTHING

    def _ext_in(self, call: Call, ext: str) -> bool:
        return any(self.channels[uid].linkedid == call.call_id for uid in self._ext_channels.get(ext, ()))

    def _changed(self, chan: Channel, *, adopting: bool) -> list[CallEvent]:
        """An extension channel's state changed (or we just learnt of it)."""
        ext = chan.extension
        assert ext is not None
        call = self.calls[chan.linkedid]
        out: list[CallEvent] = NOTHING
        if not chan.origin:
            if chan.state == RINGING:
                out = self._start_ringing(call, chan)
            elif chan.state == UP:
                out = self._answered(call, chan, adopting=adopting)
        elif chan.state == RINGING and call.call_id in self.originating:
            out = self._dialling_rings(call, chan)
        lines = self._line_from_channels(ext)
        return out + lines if lines else out

    def _start_ringing(self, call: Call, chan: Channel) -> list[CallEvent]:
        ext = chan.extension
        assert ext is not None
        if ext in call.talking:
            return NOTHING
        ringing = call.ringing.get(ext)
        if ringing is not None:
            ringing.add(chan.uniqueid)  # a second device of the same line: still one pop
            return NOTHING
        call.ringing[ext] = {chan.uniqueid}
        if call.talking - {ext} and call.transfer_to is None:
            call.consulting.add(ext)  # someone already talks with the caller and consults this extension
        shown = call.shown[ext] = self._caller_for(call, chan)
        return [CallRinging(call.call_id, ext, shown, chan.name)]

    def _dialling_rings(self, call: Call, chan: Channel) -> list[CallEvent]:
        """Click to dial rings the employee's phone first, as the call's own first channel: its pop names
        the number the call will dial (the phone itself shows the Originate's caller id)."""
        ext = chan.extension
        assert ext is not None
        dialled = call.dialled = self.originating.pop(call.call_id)
        call.shown[ext] = dialled
        return [CallRinging(call.call_id, ext, dialled, chan.name, outbound=True)]

    def _answered(self, call: Call, chan: Channel, *, adopting: bool) -> list[CallEvent]:
        ext = chan.extension
        assert ext is not None
        if ext in call.talking:
            return NOTHING
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
        out.append(CallAnswered(call.call_id, ext, shown, adopted=adopting))
        for other in list(call.ringing):
            del call.ringing[other]
            out.append(RingStopped(call.call_id, other, "answered_elsewhere"))
        return out

    def _stop_ringing(self, call: Call, chan: Channel, reason: DismissReason) -> list[CallEvent]:
        ext = chan.extension
        assert ext is not None
        ringing = call.ringing.get(ext)
        if ringing is None or chan.uniqueid not in ringing:
            return NOTHING
        ringing.discard(chan.uniqueid)
        if ringing:
            return NOTHING  # another device of this line still rings
        del call.ringing[ext]
        if call.talking and reason != "transfer_cancelled":
            reason = "answered_elsewhere"
        return [RingStopped(call.call_id, ext, reason)]

    def _identity_changes(self, call: Call) -> list[CallEvent]:
        """Pops follow the caller's identity: a NewCallerid on the first channel, or, in a call adopted
        mid-way, a NewConnectedLine on the ringing phone."""
        changed: dict[Party, list[str]] = {}
        for ext, shown in call.shown.items():
            if ext not in call.ringing and ext not in call.talking:
                continue
            if ext in call.follows_line or call.caller is None:
                now = self._shown_by_phone(call, ext, shown)
            else:
                now = call.caller
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
        return some(self.lines.set_from_channels(ext, status, call_id))


def some(event: LineChanged | None) -> list[CallEvent]:
    return [event] if event is not None else NOTHING
