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


DismissReason = Literal["answered_elsewhere", "answered", "ended", "transferred"]
TransferMode = Literal["blind", "attended", "redirect"]


@dataclass(frozen=True, slots=True)
class Party:
    """A caller as the PBX names it: number as sent (not normalised), display name ('' when none)."""

    number: str
    name: str


@dataclass(frozen=True, slots=True)
class CallRinging:
    """`rang_s`: None for live news (it rings now); for a call adopted from Asterisk's channel list after
    a (re)connect, how long it had rung already (CoreShowChannels' Duration): the ring is not new."""

    call_id: str
    extension: str
    caller: Party
    channel: str
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
    call_id: str
    cause: int
    cause_text: str


@dataclass(frozen=True, slots=True)
class LineChanged:
    extension: str
    status: LineStatus
    call_id: str | None


CallEvent = (
    CallRinging | CallAnswered | RingStopped | CallerChanged | CallTransferred | CallEnded | LineChanged
)
