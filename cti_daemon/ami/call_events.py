"""What the tracker tells the rest of the daemon: a few plain domain events, no AMI vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class LineStatus(StrEnum):
    READY = "ready"
    RINGING = "ringing"
    TALKING = "talking"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


# transfer_cancelled: the pop of an attended transfer's target whose consultation ended without the transfer.
DismissReason = Literal["answered_elsewhere", "answered", "ended", "transferred", "transfer_cancelled"]
TransferMode = Literal["blind", "attended", "redirect"]


@dataclass(frozen=True, slots=True)
class Party:
    """A caller as the PBX names it: number as sent (not normalised), display name ('' when none)."""

    number: str
    name: str


@dataclass(frozen=True, slots=True)
class CallRinging:
    """`outbound`: the extension's phone rings to place the call (click to dial); `caller` is then the
    party it is about to call. `rang_s`: None for live news (it rings now); for a call adopted from
    Asterisk's channel list after a (re)connect, how long it had rung already (CoreShowChannels' Duration):
    the ring is not new."""

    call_id: str
    extension: str
    caller: Party
    channel: str
    outbound: bool = False
    rang_s: float | None = None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """`adopted`: found answered in Asterisk's channel list after a (re)connect, not answered just now."""

    call_id: str
    extension: str
    caller: Party
    adopted: bool = False


@dataclass(frozen=True, slots=True)
class RingStopped:
    """A pop at this extension is no longer current (someone else answered, the caller hung up...)."""

    call_id: str
    extension: str
    reason: DismissReason


@dataclass(frozen=True, slots=True)
class CallerChanged:
    """The caller's identity changed mid-call; the pops at these extensions need an update."""

    call_id: str
    caller: Party
    extensions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CallTransferred:
    call_id: str
    mode: TransferMode
    from_extension: str | None
    to_extension: str | None


@dataclass(frozen=True, slots=True)
class CallEnded:
    """`caller` and `extension` are the call's parties at its end (the caller, or after a transfer made by
    the caller's own side, the party it handed over; the extension that took the call last, else the last
    one it rang), so the end says who talked, as ringing and answered do."""

    call_id: str
    cause: int
    cause_text: str
    caller: Party | None = None
    extension: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class QueueMembership:
    """The line's phone is a member of an Asterisk queue. `paused`: the member takes no queue calls
    (QueuePause); that says nothing about the phone itself, which may be free, ringing or talking."""

    queue: str
    paused: bool = False
    reason: str | None = None  # the PausedReason Asterisk gave, None when it gave none


@dataclass(frozen=True, slots=True)
class LineChanged:
    """The line's whole published state: its status, its call, and its queue memberships (by queue)."""

    extension: str
    status: LineStatus
    call_id: str | None
    queues: tuple[QueueMembership, ...] = ()


CallEvent = (
    CallRinging | CallAnswered | RingStopped | CallerChanged | CallTransferred | CallEnded | LineChanged
)
