"""Calls handed to another phone: transfer events (BlindTransfer, AttendedTransfer, an inferred Redirect),
pickups, and transfers made by the caller's own side. The last two are handed over without being dialled
there. Both change who talks with whom in ways Asterisk tells only partly (recorded on Asterisk 22 in
tests/traces/asterisk-22-batch3: directed_pickup, group_pickup, caller_side_blind, caller_side_attended).

Pickup (PickupChan(), the *8 group pickup, a SIP Replaces pickup): the picker dials a call of its own, then
Asterisk swaps it into the rung leg's place with no Rename or Masquerade event. The caller's DialEnd ANSWER
names the picker's channel (never the rung one), an `Event: Pickup` just before names both, and the picker's
linkedid becomes the caller's only once it is bridged. So the picker joins the picked call at the Pickup
event (or that DialEnd, whichever comes first) and answers it there; the rung leg then stops ringing.

Transfer by the caller's side (A calls B, A transfers B to C): the call keeps A's linkedid and first
channel, but C talks with B, not A. The transfer event names the transferee (B): from then on B is the
call's party, and B's own pop follows what B's phone is connected to (C).
"""

from __future__ import annotations

from cti_daemon.ami.call_events import CallerChanged, CallEvent, CallTransferred, RingStopped, TransferMode
from cti_daemon.ami.call_state import NOTHING, CallState, Msg
from cti_daemon.ami.calls import UNKNOWN_IDS, UP, Call, Channel, party


class Handovers(CallState):
    """The tracker's handlers for calls changing hands (`CallTracker` maps the AMI events onto them)."""

    def _pickup(self, msg: Msg) -> list[CallEvent]:
        """Event: Pickup (Channel = the picker, Target* = the rung leg), once the picker's snapshot is in."""
        picker = self.channels.get(msg.get("Uniqueid", ""))
        target = self.channels.get(msg.get("TargetUniqueid", ""))
        call = self.calls.get(target.linkedid if target is not None else msg.get("TargetLinkedid", ""))
        if picker is None or call is None:
            return NOTHING
        return self._picked_up(call, picker)

    def _pickup_by_dialend(self, msg: Msg, dest: Channel) -> list[CallEvent]:
        """A DialEnd ANSWER whose answering channel is in a call of its own: a pickup whose Pickup event
        we did not get (an older Asterisk, an event filter)."""
        call = self.calls.get(msg.get("Linkedid", ""))
        if call is None or dest.linkedid == call.call_id or not dest.origin:
            return NOTHING
        return self._picked_up(call, dest)

    def _picked_up(self, call: Call, picker: Channel) -> list[CallEvent]:
        if picker.linkedid == call.call_id:
            return NOTHING
        own = picker.linkedid
        # The picker's own call lasted a few hundred ms and was only its way to this one: no end for it.
        self._move(picker, call.call_id, quiet=True)
        picker.stale_linkedid = own
        ext = picker.extension
        if ext is None:
            return NOTHING
        picker.state = UP  # the picker is off-hook by now; the picked call is answered on its phone
        return self._answered(call, picker, adopting=False) + self._line_from_channels(ext)

    def _handed_over_by_caller(self, call: Call, msg: Msg, transferer_uid: str) -> list[CallEvent]:
        """After a transfer event: when the transferer is the call's own first channel, the transferee
        becomes the party every pop of the call shows, and the transferee's own pop follows its phone."""
        if transferer_uid != call.call_id:
            return NOTHING
        transferee = self.channels.get(msg.get("TransfereeUniqueid", ""))
        number = msg.get("TransfereeCallerIDNum", "")
        if call.dialled is not None and (transferee is None or transferee.extension is None):
            # A clicked-to-dial outside party: Asterisk gave its leg the employee's own outbound caller id.
            call.caller = call.dialled
        elif number not in UNKNOWN_IDS:
            call.caller = party(number, msg.get("TransfereeCallerIDName", ""))
        else:
            return NOTHING
        call.caller_handed_over = True
        if transferee is not None and transferee.extension is not None:
            call.follows_line.add(transferee.extension)
        return self._identity_changes(call)

    # --- transfer events ---------------------------------------------------------------------------
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
        out = self._transferred(call, "blind", self._ext_of(msg, "Transferer"), to)
        return out + self._handed_over_by_caller(call, msg, msg.get("TransfererUniqueid", ""))

    def _on_attended_transfer(self, msg: Msg) -> list[CallEvent]:
        if msg.get("Result") != "Success":
            return NOTHING
        call = self.calls.get(msg.get("TransfereeLinkedid") or msg.get("OrigTransfererLinkedid", ""))
        if call is None:
            return NOTHING
        by = self._ext_of(msg, "OrigTransferer") or self._ext_of(msg, "SecondTransferer")
        consult = self.calls.get(msg.get("SecondTransfererLinkedid", "")) or call
        to = self._ext_of(msg, "TransferTarget") or self._consulted(consult, by, msg)
        out = self._transferred(call, "attended", by, to)
        call.consulting.discard(to or "")
        consult.consulting.discard(to or "")
        if to is not None and to not in consult.ringing:  # a blonde transfer's target still rings
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
        return out + self._handed_over_by_caller(call, msg, msg.get("OrigTransfererUniqueid", ""))

    def _consulted(self, consult: Call, by: str | None, msg: Msg) -> str | None:
        """The target when Asterisk does not name it as an extension's channel (a Local channel, a bridge, or
        nothing at all in a blonde transfer): the consulted extension that talks, else the one that rings
        (the transferer hung up before the target answered). Never the transferer or the transferee."""
        transferee = self._ext_of(msg, "Transferee")
        talking = [ext for ext in consult.answered if ext in consult.talking and ext not in (by, transferee)]
        ringing = [ext for ext in consult.ringing if ext not in (by, transferee)]
        found = talking or ringing
        return found[-1] if found else None

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
