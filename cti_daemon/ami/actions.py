"""The AMI actions a CTI needs, each one call with a typed result or a typed error.

Every function takes the running `AmiLink` and returns once Asterisk has answered. Errors are the link's
typed errors, so a caller (the HTTP transfer endpoint) can map them to answers:

- `AmiNotConnectedError`: no AMI session right now (503 material);
- `AmiNoSuchChannelError`: the channel is gone (the call ended meanwhile: 409 material);
- `AmiPermissionError`: the AMI user lacks `write = call` / `originate` in manager.conf;
- `AmiTimeoutError`: Asterisk did not answer in time;
- `AmiOriginateError`: an Originate whose first leg did not answer (busy, no answer...);
- `AmiActionError`: any other refusal, with Asterisk's own message;
- `ValueError`: an argument that cannot be sent (empty, or with a line break or a space).

Which channel to pass: `CallTracker.call_view(call_id)` says. `redirect` moves the CALLER's channel
(`view.caller_channel`); `blind_transfer` and `attended_transfer` take the TRANSFERER's channel, the
extension talking with the caller (`view.transferer_channel`). What they look like in the event stream:
README of tests/traces (d1_redirect, d2_blindtransfer, e_atxfer, h_originate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cti_daemon.ami.errors import AmiOriginateError
from cti_daemon.ami.link import AmiLink

# OriginateResponse "Reason:" (Asterisk's AST_CONTROL_* codes for the first leg).
ORIGINATE_REASONS = {
    0: "failed (no such device, or it cannot be reached)",
    1: "hung up",
    3: "no answer",
    4: "answered",
    5: "busy",
    8: "congested or unavailable",
}


@dataclass(frozen=True, slots=True)
class ActionResult:
    """Asterisk accepted the action; `message` is its own words ("Redirect successful", "Transfer
    succeeded", "Atxfer successfully queued", "Channel Hungup")."""

    action: str
    message: str


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """The first leg (the employee's phone) answered; Asterisk now dials the number from it."""

    channel: str  # the originated channel, e.g. PJSIP/201-00000014
    uniqueid: str  # its uniqueid: the call_id of the new call
    reason: int  # 4: answered


def _field(name: str, value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{name} must be a non-empty value without spaces or line breaks, not {value!r}")
    return value


async def redirect(
    link: AmiLink, channel: str, context: str, exten: str, *, priority: int = 1, timeout: float = 5.0
) -> ActionResult:
    """Send `channel` (the caller's) to context,exten,priority. Asterisk emits no transfer event for this;
    the tracker reports it as CallTransferred(mode="redirect") when the caller dials the target."""
    response = await link.action(
        "Redirect",
        {
            "Channel": _field("channel", channel),
            "Context": _field("context", context),
            "Exten": _field("exten", exten),
            "Priority": str(priority),
        },
        timeout=timeout,
    )
    return ActionResult("Redirect", response.message)


async def blind_transfer(
    link: AmiLink, channel: str, context: str, exten: str, *, timeout: float = 5.0
) -> ActionResult:
    """Blind transfer of whatever is bridged with `channel` (the transferer's, e.g. reception's) to
    context,exten. Asterisk answers "Transfer succeeded" even when the target's phone is not registered
    and then hangs the caller up (cause 3): check the target's line first."""
    response = await link.action(
        "BlindTransfer",
        {
            "Channel": _field("channel", channel),
            "Context": _field("context", context),
            "Exten": _field("exten", exten),
        },
        timeout=timeout,
    )
    return ActionResult("BlindTransfer", response.message)


async def attended_transfer(
    link: AmiLink, channel: str, context: str, exten: str, *, timeout: float = 5.0
) -> ActionResult:
    """Start an attended transfer from `channel` (the transferer's): the caller goes on hold and the
    transferer's phone calls context,exten. It completes when the transferer hangs up
    (`complete_attended_transfer`) and is abandoned with `cancel_attended_transfer`.

    Needs features.conf `atxfer` (Asterisk dials it as DTMF) and Dial option t/T on the transferer; without
    the prompt's sound files installed Asterisk silently fails it (README of tests/traces, e_atxfer)."""
    # as_list=False always: panoramisk reads "Atxfer successfully queued" as the start of a list and would
    # wait for list items that never come.
    response = await link.action(
        "Atxfer",
        {
            "Channel": _field("channel", channel),
            "Context": _field("context", context),
            "Exten": _field("exten", exten),
        },
        timeout=timeout,
        as_list=False,
    )
    return ActionResult("Atxfer", response.message)


async def complete_attended_transfer(
    link: AmiLink, transferer_channel: str, *, timeout: float = 5.0
) -> ActionResult:
    """Join the caller to the target: the transferer leaves (its channel is hung up), as when the
    receptionist puts the handset down."""
    return await hangup(link, transferer_channel, timeout=timeout)


async def cancel_attended_transfer(
    link: AmiLink, transferer_channel: str, *, timeout: float = 5.0
) -> ActionResult:
    """Abandon the consultation: the target is hung up and the caller returns to the transferer
    (CancelAtxfer, Asterisk 13.18+; needs features.conf `atxferabort`)."""
    response = await link.action(
        "CancelAtxfer", {"Channel": _field("channel", transferer_channel)}, timeout=timeout, as_list=False
    )
    return ActionResult("CancelAtxfer", response.message)


async def hangup(
    link: AmiLink, channel: str, *, cause: int | None = None, timeout: float = 5.0
) -> ActionResult:
    """Hang `channel` up (cause 16 Normal Clearing unless told)."""
    headers = {"Channel": _field("channel", channel)}
    if cause is not None:
        headers["Cause"] = str(cause)
    response = await link.action("Hangup", headers, timeout=timeout)
    return ActionResult("Hangup", response.message)


async def originate(
    link: AmiLink,
    from_device: str,
    to_number: str,
    context: str,
    caller_id: str | None = None,
    *,
    timeout: float = 20.0,
    variables: Mapping[str, str] | None = None,
    channel_id: str | None = None,
) -> OriginateResult:
    """Click to dial: ring `from_device` (the employee's phone, "PJSIP/201") for up to `timeout` seconds;
    once it answers Asterisk dials `to_number` in `context` from it. `caller_id` is shown on the employee's
    phone while it rings, as Asterisk takes it ('"Click2Call" <201>'). `channel_id` (Asterisk 12+
    ChannelId, at most 149 characters) becomes the originated channel's uniqueid, hence the new call's id,
    known before anything rings. Returns when the phone answered; raises AmiOriginateError when it did not
    (busy, no answer, unavailable: `.reason`)."""
    headers: dict[str, str | list[str]] = {
        "Channel": _field("from_device", from_device),
        "Context": _field("context", context),
        "Exten": _field("to_number", to_number),
        "Priority": "1",
        "Timeout": str(int(timeout * 1000)),
        "Async": "true",
    }
    if caller_id:
        headers["CallerID"] = caller_id
    if channel_id:
        headers["ChannelId"] = _field("channel_id", channel_id)
    if variables:
        headers["Variable"] = [f"{_field('variable', k)}={v}" for k, v in variables.items()]
    _, outcome = await link.action_then_event(
        "Originate", headers, event="OriginateResponse", event_timeout=timeout + 10.0
    )
    reason = _int(outcome.get("Reason", "0"))
    if outcome.get("Response") != "Success":
        text = ORIGINATE_REASONS.get(reason, f"reason {reason}")
        raise AmiOriginateError("Originate", f"{from_device} did not answer: {text}", reason)
    return OriginateResult(outcome.get("Channel", ""), outcome.get("Uniqueid", ""), reason)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
