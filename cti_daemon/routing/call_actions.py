"""What the transfer and click-to-dial services share: the views of the tracker they read, how they wait
for the PBX's news, their one typed refusal, and what the AMI adapter's errors mean to them.

Both act on the PBX and then believe only what the PBX reports back (call and line events): an action
Asterisk accepted is not yet a transfer that happened (a BlindTransfer to a phone that is not registered is
"Transfer succeeded", and then the caller is cut off).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from cti_daemon.ami.call_events import LineStatus
from cti_daemon.ami.calls import CallView, LineView
from cti_daemon.ami.errors import (
    AmiActionError,
    AmiDisconnectedError,
    AmiError,
    AmiNoSuchChannelError,
    AmiNotConnectedError,
    AmiPermissionError,
    AmiTimeoutError,
)

# What went wrong, in the terms an API maps to a status: invalid 400, not_found 404, conflict 409,
# pbx_refused 502, unavailable 503, pbx_timeout 504.
Refusal = Literal["invalid", "not_found", "conflict", "pbx_refused", "unavailable", "pbx_timeout"]


class CallActionError(Exception):
    """A transfer or a click to dial that cannot be done (or did not happen): what, a stable code, a
    message for people, and the request field it is about."""

    def __init__(
        self,
        kind: Refusal,
        code: str,
        message: str,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra


class CallViews(Protocol):
    """The tracker's read-only views (`CallTracker` is one)."""

    def call_view(self, call_id: str) -> CallView | None: ...

    def line_view(self, extension: str) -> LineView | None: ...


class PbxNews:
    """Wakes whoever waits for the PBX to report something. The composition root ticks it after every
    batch of call events; waiters re-check their condition against the tracker and the transfer book."""

    def __init__(self) -> None:
        self._tick = asyncio.Event()
        self._waiting = 0

    def tick(self) -> None:
        if not self._waiting:
            return  # on the AMI event path: nothing to do while nobody waits
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def until(self, check: Callable[[], bool], timeout: float) -> bool:
        """True as soon as `check()` holds (checked now and after each tick), False after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiting += 1
        try:
            while not check():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                tick = self._tick
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(tick.wait(), remaining)
            return True
        finally:
            self._waiting -= 1


@dataclass(frozen=True, slots=True)
class LineState:
    extension: str
    status: LineStatus


def line_state(views: CallViews, extension: str) -> LineState:
    line = views.line_view(extension)
    return LineState(extension, line.status if line is not None else LineStatus.UNKNOWN)


def unavailable(line: LineState, *, field: str, what: str) -> CallActionError | None:
    """The refusal for a line that cannot take a call now (offline, or a state the PBX never told us)."""
    if line.status is LineStatus.OFFLINE:
        return CallActionError(
            "conflict",
            "line_offline",
            f"line {line.extension} is offline (no phone registered): {what}",
            field=field,
        )
    if line.status is LineStatus.UNKNOWN:
        return CallActionError(
            "conflict",
            "line_state_unknown",
            f"the PBX has not told the state of line {line.extension} (no device or hint state): {what}",
            field=field,
        )
    return None


def from_ami(exc: AmiError, action: str) -> CallActionError:
    """What an AMI failure means to the one who asked for the action."""
    if isinstance(exc, AmiNotConnectedError | AmiDisconnectedError):
        return CallActionError(
            "unavailable", "ami_unavailable", f"no AMI session with the PBX now ({action})"
        )
    if isinstance(exc, AmiTimeoutError):
        return CallActionError("pbx_timeout", "pbx_timeout", f"the PBX did not answer {action} in time")
    if isinstance(exc, AmiNoSuchChannelError):
        return CallActionError(
            "conflict", "call_gone", f"the call's channel is gone ({action}: {exc.message})", field="call_id"
        )
    if isinstance(exc, AmiPermissionError):
        return CallActionError(
            "pbx_refused",
            "ami_permission",
            f"the AMI user may not send {action}: give it write = call,originate in manager.conf",
        )
    if isinstance(exc, AmiActionError):
        return CallActionError("pbx_refused", "pbx_refused", f"the PBX refused {action}: {exc.message}")
    return CallActionError("pbx_refused", "pbx_refused", f"{action} failed: {exc}")
