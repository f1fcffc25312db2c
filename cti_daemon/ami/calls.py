"""What the tracker knows about channels and calls, and the read-only views it hands out.

`Channel` and `Call` are the tracker's own mutable state. `CallView` and `LineView` are frozen snapshots
for everyone else (the HTTP API's `GET /api/v1/calls` and `/lines`, the transfer service): plain data that
cannot change under the reader's feet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from cti_daemon.ami.call_events import LineStatus, Party, QueueMembership

RINGING = "5"  # AMI ChannelState 5 Ringing: the phone rings
UP = "6"
DOWN = "0"  # created, nothing happened yet: tells nothing about the line
UNKNOWN_IDS = frozenset({"", "<unknown>", "<Unknown>"})
NOBODY = Party("", "")


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    extension: str | None  # the line this channel rings or talks on; None for trunks and Local halves
    state: str = DOWN
    caller: Party = NOBODY
    connected: Party = NOBODY
    bridge: str | None = None
    seq: int = 0  # the tracker's message count at the last news about this channel (resync uses it)
    born: int = 0  # the tracker's message count when the channel was first seen
    raw_ids: tuple[str, str, str, str] = ("", "", "", "")  # caller and connected line as last sent
    # A pickup moves the picker's channel into the picked call before Asterisk says so: its events keep
    # naming its own former linkedid for a while, which must not move it back.
    stale_linkedid: str | None = None

    @property
    def origin(self) -> bool:
        """The call's first channel (the caller's side); every other channel is a leg someone dialled."""
        return self.uniqueid == self.linkedid


@dataclass(slots=True)
class Call:
    call_id: str  # the linkedid
    caller: Party | None = None  # the first channel's caller id; None while that channel is unseen
    channels: set[str] = field(default_factory=set)
    ringing: dict[str, set[str]] = field(default_factory=dict)  # extension -> its ringing channel ids
    talking: set[str] = field(default_factory=set)  # extensions answered and still in the call
    answered: list[str] = field(default_factory=list)  # every extension that answered, in order
    shown: dict[str, Party] = field(default_factory=dict)  # the party each extension's pop shows
    transfer_to: str | None = None  # a transfer announced or detected, until its target answers ("?":
    # to somewhere that is not an extension)
    end_cause: tuple[int, str] | None = None
    consulting: set[str] = field(default_factory=set)  # extensions rung while another talks: an attended
    # transfer's target, until the transfer completes or the consultation ends
    caller_handed_over: bool = False  # the caller's own side transferred the call: `caller` is now the
    # party it handed over, and the first channel no longer speaks for it
    follows_line: set[str] = field(default_factory=set)  # extensions whose pop shows what their own phone
    # is connected to (the transferee, after a transfer made by the caller's side)
    dialled: Party | None = None  # click to dial: the number the call was placed to
    deflected: set[str] = field(default_factory=set)  # channels that rang when the daemon Redirected the
    # caller elsewhere (a ringing call put through): their end closes their pops as transferred


@dataclass(frozen=True, slots=True)
class LegView:
    """One extension's channel in a call."""

    extension: str
    channel: str  # the AMI channel name, e.g. PJSIP/201-0000000a
    state: Literal["ringing", "up", "other"]


@dataclass(frozen=True, slots=True)
class CallView:
    """A call in progress as the rest of the daemon may see it.

    `state` is "up" once an extension talks with the caller, else "ringing" (ringing somewhere, or still
    being routed: an IVR, a queue, a transfer under way). `caller_channel` is the caller's own channel, the
    one to Redirect; `transferer_channel` is the channel of the extension that talks with the caller (the
    first that answered and is still there), the Channel of a BlindTransfer or an Atxfer. `transferring`:
    a transfer was seen (event or redirect) and its target has not answered yet; `transfer_target` is that
    target's extension when known.
    """

    call_id: str
    caller: Party
    state: Literal["ringing", "up"]
    ringing: tuple[str, ...]
    talking: tuple[str, ...]
    legs: tuple[LegView, ...]
    caller_channel: str | None
    transferer_channel: str | None
    transferring: bool = False
    transfer_target: str | None = None

    def channel_of(self, extension: str) -> str | None:
        """The channel of this extension in the call (its talking one first), or None."""
        best: str | None = None
        for leg in self.legs:
            if leg.extension == extension:
                if leg.state == "up":
                    return leg.channel
                best = best or leg.channel
        return best


@dataclass(frozen=True, slots=True)
class LineView:
    extension: str
    status: LineStatus
    call_id: str | None
    # What each of the line's devices last reported (names lower-cased: "pjsip/201"); empty when the PBX
    # sent no device state for it.
    devices: tuple[tuple[str, LineStatus], ...] = ()
    queues: tuple[QueueMembership, ...] = ()  # its phone's queue memberships, by queue name


def party(number: str, name: str, *, connected: bool = False) -> Party:
    """A party from a channel snapshot's CallerID* (or ConnectedLine*) fields."""
    # A caller id number is kept as the PBX sent it ("<unknown>" included: the pop shows what the PBX
    # said); a connected line that is "<unknown>" just means Asterisk has not learnt it yet.
    if connected and number in UNKNOWN_IDS:
        number = ""
    return Party(number, "" if name in UNKNOWN_IDS else name)


def merged_caller(known: Party | None, new: Party) -> Party:
    """A dialplan that resets CALLERID(name) on a transfer (cacofonisk's xfer_blind) blanks the name but
    keeps the number: that must not erase the name we already know."""
    if known is not None and not new.name and new.number == known.number:
        return known
    return new


def view_of(call: Call, channels: Mapping[str, Channel]) -> CallView:
    legs: list[LegView] = []
    caller_channel: str | None = None
    for uid in sorted(call.channels):
        chan = channels.get(uid)
        if chan is None:
            continue
        if chan.uniqueid == call.call_id:
            caller_channel = chan.name
        if chan.extension is None or chan.uniqueid == call.call_id:
            continue
        state: Literal["ringing", "up", "other"] = (
            "up" if chan.state == UP else "ringing" if chan.state == RINGING else "other"
        )
        legs.append(LegView(chan.extension, chan.name, state))
    frozen_legs = tuple(legs)
    talking = tuple(ext for ext in call.answered if ext in call.talking)
    transferer = _channel_in(frozen_legs, talking[0]) if talking else None
    return CallView(
        call_id=call.call_id,
        caller=call.caller if call.caller is not None else _first_shown(call),
        state="up" if call.talking else "ringing",
        ringing=tuple(sorted(call.ringing)),
        talking=talking,
        legs=frozen_legs,
        caller_channel=caller_channel,
        transferer_channel=transferer,
        transferring=call.transfer_to is not None,
        transfer_target=call.transfer_to if call.transfer_to not in (None, "?") else None,
    )


def _channel_in(legs: tuple[LegView, ...], extension: str) -> str | None:
    for leg in legs:
        if leg.extension == extension and leg.state == "up":
            return leg.channel
    return None


def _first_shown(call: Call) -> Party:
    for shown in call.shown.values():
        return shown
    return NOBODY
