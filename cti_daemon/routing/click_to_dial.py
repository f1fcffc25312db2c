"""Click to dial: the employee's phone rings first; once picked up, the PBX dials the number from it.

The call's id is chosen here and given to Asterisk as the Originate's ChannelId (Asterisk 12+), so it is
known before anything rings and the answer can carry it. The answer comes once the PBX reports the
employee's phone ringing with that call (or the Originate failed first, or `confirm_s` passed: then with
status "starting", the id to follow on `cti/calls/{call_id}` and `GET /api/v1/calls/{call_id}`). The
employee has `ring_s` seconds to pick up; what happens after the answer is on those same channels.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cti_daemon import logs
from cti_daemon.ami import actions
from cti_daemon.ami.call_events import LineStatus
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.errors import AmiError, AmiOriginateError
from cti_daemon.ami.link import AmiLink
from cti_daemon.ids import uuid7
from cti_daemon.routing.call_actions import (
    CallActionError,
    CallViews,
    PbxNews,
    from_ami,
    line_state,
    unavailable,
)

log = logs.get("cti.routing.dial")

_SEPARATORS = re.compile(r"[\s\-().]")
_DIALABLE = re.compile(r"\+?[0-9]{1,20}")
_EXTENSION = re.compile(r"[0-9A-Za-z_]{1,32}")
DialStatus = Literal["starting", "ringing", "answered"]


@dataclass(frozen=True, slots=True)
class Dialled:
    call_id: str
    from_extension: str
    employee_id: str | None
    to_number: str  # as dialled: the given number without separators
    status: DialStatus  # starting: not yet reported ringing; ringing: the employee's phone rings;
    # answered: the employee picked up and the PBX dials the number


def dialable(number: str) -> str | None:
    """The digits to dial (an optional leading +), separators (spaces, dashes, dots, brackets) dropped;
    None for anything else."""
    compact = _SEPARATORS.sub("", number)
    return compact if _DIALABLE.fullmatch(compact) else None


# Which of an employee's phones to ring: a free one first, then one the PBX said nothing of; one in use
# (a desk phone on another call while the softphone is free) next; one not registered last.
_PREFERENCE = {LineStatus.READY: 0, LineStatus.UNKNOWN: 1, LineStatus.RINGING: 2, LineStatus.TALKING: 2}


def device_to_ring(devices: Sequence[str], reported: Iterable[tuple[str, LineStatus]]) -> str | None:
    """The device an Originate rings for an employee with several (desk phone, softphone): Originate rings
    one device, and the first listed may be unplugged while another is ready. Ties keep the directory's
    order (the administrator's preference); None when the directory lists no device."""
    states = dict(reported)
    ranked = sorted(devices, key=lambda d: _PREFERENCE.get(states.get(d.lower(), LineStatus.UNKNOWN), 3))
    return ranked[0] if ranked else None


class ClickToDial:
    def __init__(
        self,
        *,
        link: AmiLink,
        views: CallViews,
        directory: LineDirectory,
        news: PbxNews,
        context: str,
        confirm_s: float,
        ring_s: float = 20.0,
        announce: Callable[[str, str], None] | None = None,
    ) -> None:
        self._link = link
        self._views = views
        self._directory = directory
        self._news = news
        self._context = context
        self._confirm_s = confirm_s
        self._ring_s = ring_s
        self._announce = announce  # (call id, number): the tracker, so the employee's pop names the number
        self._tasks: set[asyncio.Task[Any]] = set()

    async def dial(self, from_extension: str, to_number: str, actor: str) -> Dialled:
        extension = self._known_extension(from_extension)
        number = dialable(to_number)
        if number is None:
            raise CallActionError(
                "invalid",
                "invalid",
                "to_number must be a phone number or an extension: digits, optionally after a +; spaces, "
                "dashes, dots and brackets are ignored",
                field="to_number",
            )
        if number == extension:
            raise CallActionError("invalid", "invalid", f"{extension} cannot call itself", field="to_number")
        if not self._link.connected:
            raise CallActionError("unavailable", "ami_unavailable", "no AMI session with the PBX now")
        line = line_state(self._views, extension)
        refused = unavailable(line, field="from_extension", what="its phone cannot ring")
        if refused is not None:
            raise refused
        if line.status in (LineStatus.RINGING, LineStatus.TALKING):
            raise CallActionError(
                "conflict",
                "line_busy",
                f"line {extension} is {line.status}: click to dial rings a free phone",
                field="from_extension",
            )
        view = self._views.line_view(extension)
        reported = view.devices if view is not None else ()
        device = device_to_ring(self._directory.devices_of(extension), reported) or f"PJSIP/{extension}"
        call_id = uuid7()
        if self._announce is not None:
            self._announce(call_id, number)
        log.info(
            "dial.started", call_id=call_id, extension=extension, device=device, to_number=number, actor=actor
        )
        task = asyncio.get_running_loop().create_task(self._originate(device, extension, number, call_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._news.tick())  # its outcome is news too
        await self._news.until(lambda: task.done() or self._rings(extension, call_id), self._confirm_s)
        status: DialStatus = "ringing" if self._rings(extension, call_id) else "starting"
        if task.done():
            outcome = task.result()
            if isinstance(outcome, CallActionError):
                raise outcome
            status = "answered"
        return Dialled(call_id, extension, self._directory.employee_at(extension), number, status)

    def _known_extension(self, text: str) -> str:
        if not _EXTENSION.fullmatch(text):
            raise CallActionError(
                "invalid",
                "invalid",
                "from_extension must be an extension: 1 to 32 letters, digits or _",
                field="from_extension",
            )
        if self._directory.employee_at(text) is None and self._views.line_view(text) is None:
            raise CallActionError(
                "not_found",
                "unknown_extension",
                f"no line {text}: not an employee's extension, and the PBX never reported it",
                field="from_extension",
            )
        return text

    def _rings(self, extension: str, call_id: str) -> bool:
        line = self._views.line_view(extension)
        return line is not None and line.call_id == call_id

    async def _originate(
        self, device: str, extension: str, number: str, call_id: str
    ) -> actions.OriginateResult | CallActionError:
        """The whole Originate, up to the employee's answer; its failure is returned, not raised (nobody may
        be waiting for it any more: then it is a log line)."""
        try:
            result = await actions.originate(
                self._link,
                device,
                number,
                self._context,
                f"<{extension}>",
                timeout=self._ring_s,
                channel_id=call_id,
            )
        except AmiOriginateError as exc:
            why = actions.ORIGINATE_REASONS.get(exc.reason, f"reason {exc.reason}")
            log.info("dial.not_answered", call_id=call_id, extension=extension, reason=why)
            return CallActionError(
                "conflict",
                "phone_did_not_answer",
                f"{extension}'s phone did not take the call: {why}",
                field="from_extension",
            )
        except AmiError as exc:
            log.warning("dial.failed", call_id=call_id, extension=extension, error=str(exc))
            return from_ami(exc, "Originate")
        log.info("dial.answered", call_id=call_id, extension=extension, channel=result.channel)
        return result

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
