"""A call handed to another phone without being dialled there: a pickup, and a transfer made by the caller's
own side. Both change who talks with whom in ways Asterisk tells only partly (recorded on Asterisk 22 in
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

from cti_daemon.ami.call_events import CallEvent
from cti_daemon.ami.call_state import NOTHING, CallState, Msg
from cti_daemon.ami.calls import UNKNOWN_IDS, UP, Call, Channel, party


class Handovers(CallState):
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
