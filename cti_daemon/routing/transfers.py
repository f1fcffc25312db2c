"""Transfers asked for over HTTP: check, act on the PBX, and report only what the PBX's events confirm.

- Before acting: the call is in progress and answered (or, for a blind transfer, ringing: it is
  deflected), nobody transfers it already, the target is a
  known line that is not offline (Asterisk does not protect the caller: a blind transfer to a phone that is
  not registered is "Transfer succeeded", then the caller is cut off), not already in this call, and for a
  blind transfer not ringing or talking (a phone that refuses a second call would cut the caller off too).
- Blind: BlindTransfer on the transferer's channel (the extension talking with the caller); where the PBX
  refuses it (Asterisk 11 has no such action; a transferer not in a bridge) the caller's own channel is
  Redirected to the target instead, which ends the same way. A ringing call (nobody answered yet) is
  deflected: its caller's channel is Redirected, which stops it ringing where it rang.
- Attended: Atxfer on the transferer's channel; `complete` hangs the transferer up (the caller joins the
  target), `cancel` sends CancelAtxfer (the caller is back with the transferer).
- The answer comes once the TransferBook, fed with the tracker's events, says the target rings (or
  something final happened), at most `confirm_s` seconds after the action.
- The target employee gets a `transfer` notify when it rings; an optional observer (the journal) hears of
  every change, with the actor (the API token's name; None for what the PBX reported).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from cti_daemon import logs
from cti_daemon.ami import actions
from cti_daemon.ami.call_events import CallEvent
from cti_daemon.ami.calls import CallView
from cti_daemon.ami.directory import LineDirectory
from cti_daemon.ami.errors import AmiActionError, AmiError, AmiNoSuchChannelError, AmiPermissionError
from cti_daemon.ami.link import AmiLink
from cti_daemon.outbound.port import AgentPort
from cti_daemon.routing.call_actions import (
    CallActionError,
    CallViews,
    PbxNews,
    from_ami,
    line_state,
)
from cti_daemon.routing.transfer_book import (
    Transfer,
    TransferBook,
    TransferConflictError,
    TransferStatus,
)
from cti_daemon.routing.transfer_checks import (
    TransferRequest,
    check_call,
    check_presence,
    check_target,
    deflects,
    in_progress,
    resolve_target,
)
from cti_daemon.routing.transfer_reports import ContactFactsFn, TransferObserver, TransferReports

log = logs.get("cti.routing.transfers")

T = TypeVar("T")
Clock = Callable[[], datetime]
CONFIRMED = frozenset({TransferStatus.RINGBACK, TransferStatus.ANSWERED, TransferStatus.COMPLETED})


class DeflectionMarks(Protocol):
    """Told before a ringing caller is Redirected (`CallTracker` is one)."""

    def expect_deflection(self, call_id: str) -> None: ...

    def forget_deflection(self, call_id: str) -> None: ...


class TransferService:
    def __init__(
        self,
        *,
        link: AmiLink,
        views: CallViews,
        directory: LineDirectory,
        book: TransferBook,
        out: AgentPort,
        news: PbxNews,
        clock: Clock,
        context: str,
        confirm_s: float,
        observer: TransferObserver | None = None,
        contact_facts: ContactFactsFn | None = None,
        contact_of: Callable[[str], str | None] | None = None,
        presence_of: Callable[[str], tuple[str, str] | None] = lambda _employee: None,
        deflections: DeflectionMarks | None = None,
    ) -> None:
        """`contact_of(call_id)`: the journal's contact of the call, named by each transfer of it;
        `presence_of(employee_id)`: the target's presence and note (busy with a note asks to confirm)."""
        self._presence_of = presence_of
        self._deflections = deflections  # the tracker: legs that rang close as transferred, not hung up
        self._link = link
        self._views = views
        self._directory = directory
        self._book = book
        self._news = news
        self._clock = clock
        self._context = context
        self._confirm_s = confirm_s
        self._contact_of = contact_of
        self._reports = TransferReports(
            out=out, clock=clock, views=views, observer=observer, contact_facts=contact_facts
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- the PBX's news ------------------------------------------------------------------------------
    def observe(self, events: Iterable[CallEvent]) -> None:
        """Every batch of the tracker's events, in order (synchronous: called on the AMI event path)."""
        if not self._book.any_active:
            return
        now = self._clock()
        for event in events:
            for changed in self._book.observe(event, now):
                # The outcome of a cancel or completion asked over HTTP is that actor's doing.
                self._reports.report(changed, None if changed.active else changed.asked_by)

    def get(self, transfer_id: str) -> Transfer | None:
        return self._book.get(transfer_id)

    def active_for(self, call_id: str) -> Transfer | None:
        """The transfer of this call under way, if any."""
        return self._book.active_for(call_id)

    # --- start ---------------------------------------------------------------------------------------
    async def start(self, request: TransferRequest, actor: str) -> Transfer:
        """Checks, then the action; returns once the target rings. Raises CallActionError."""
        field = "to_employee" if request.to_employee is not None else "to_extension"
        target, employee_id = resolve_target(request, field, self._directory, self._views)
        presence = self._presence_of(employee_id) if employee_id else None
        check_presence(employee_id, presence, request.confirm, field)
        self._pbx_reachable()
        view = self._views.call_view(request.call_id)
        if view is None:
            raise CallActionError(
                "conflict",
                "call_gone",
                f"call {request.call_id} is not in progress (it ended, or never existed)",
                field="call_id",
            )
        check_call(view, self._book.active_for(view.call_id), target, field, request.mode)
        check_target(line_state(self._views, target), request.mode, field)
        # check_call made sure: someone talks with the caller, or (blind) the caller's channel rings.
        channel = view.transferer_channel or view.caller_channel
        assert channel is not None
        try:
            transfer = self._book.start(
                call_id=view.call_id,
                mode=request.mode,
                from_extension=view.talking[0] if view.transferer_channel else view.ringing[0],
                to_extension=target,
                to_employee_id=employee_id,
                now=self._clock(),
                contact_id=self._contact_of(view.call_id) if self._contact_of is not None else None,
                channel=channel,
            )
        except TransferConflictError as exc:
            raise in_progress(exc.existing) from None
        log.info(
            "transfer.started",
            transfer_id=transfer.id,
            call_id=transfer.call_id,
            mode=transfer.mode,
            from_extension=transfer.from_extension,
            extension=target,
            employee_id=employee_id,
            actor=actor,
        )
        self._reports.report(transfer, actor)
        # Shielded: a client that goes away must not leave a transfer half done (never settled).
        return await asyncio.shield(self._spawn(self._carry_out(transfer, view, actor)))

    async def _carry_out(self, transfer: Transfer, view: CallView, actor: str) -> Transfer:
        channel, target = view.transferer_channel or "", transfer.to_extension
        try:
            if transfer.mode == "blind":
                await self._blind(transfer, view)
            else:
                await actions.attended_transfer(self._link, channel, self._context, target)
        except AmiError as exc:
            refusal = from_ami(exc, "BlindTransfer" if transfer.mode == "blind" else "Atxfer")
            self._settle(transfer.id, TransferStatus.FAILED, refusal.message, actor)
            message = f"transfer {transfer.id} failed: {refusal.message}"
            raise CallActionError(refusal.kind, refusal.code, message, field=refusal.field) from None
        await self._news.until(
            lambda: self._status(transfer.id) is not TransferStatus.STARTING, self._confirm_s
        )
        now = self._current(transfer.id)
        if now.status in CONFIRMED:
            return now
        if now.status is TransferStatus.STARTING:
            reason = f"the PBX did not report {target} ringing within {self._confirm_s:g} s"
            if transfer.mode == "attended":
                await self._quietly_cancel(transfer)
            self._settle(transfer.id, TransferStatus.FAILED, reason, None)
            raise CallActionError(
                "pbx_timeout", "transfer_unconfirmed", f"transfer {transfer.id} failed: {reason}"
            )
        raise CallActionError(
            "pbx_refused", "transfer_failed", f"transfer {transfer.id} {now.status}: {now.reason}"
        )

    async def _blind(self, transfer: Transfer, view: CallView) -> None:
        channel, target = view.transferer_channel or "", transfer.to_extension
        if deflects(view) and view.caller_channel is not None:
            # Ringing, nobody to BlindTransfer from: the caller's channel leaves its Dial or Queue.
            if self._deflections is not None:
                self._deflections.expect_deflection(view.call_id)
            try:
                await actions.redirect(self._link, view.caller_channel, self._context, target)
            except AmiError:
                if self._deflections is not None:
                    self._deflections.forget_deflection(view.call_id)
                raise
            return
        try:
            await actions.blind_transfer(self._link, channel, self._context, target)
        except AmiActionError as exc:
            if isinstance(exc, AmiNoSuchChannelError | AmiPermissionError) or view.caller_channel is None:
                raise
            log.warning(
                "transfer.blind_refused_redirecting",
                transfer_id=transfer.id,
                call_id=transfer.call_id,
                extension=target,
                pbx_said=exc.message,
            )
            await actions.redirect(self._link, view.caller_channel, self._context, target)

    async def _quietly_cancel(self, transfer: Transfer) -> None:
        try:
            await actions.cancel_attended_transfer(self._link, transfer.channel or "")
        except (AmiError, ValueError) as exc:
            log.warning(
                "transfer.cancel_failed", transfer_id=transfer.id, call_id=transfer.call_id, error=str(exc)
            )

    # --- complete and cancel (attended) --------------------------------------------------------------
    async def complete(self, transfer_id: str, actor: str) -> Transfer:
        transfer = self._attended(transfer_id, "completed")
        self._pbx_reachable()
        if transfer.status is not TransferStatus.ANSWERED:
            raise CallActionError(
                "conflict",
                "transfer_not_answered",
                f"transfer {transfer.id} is {transfer.status}: it can be completed once "
                f"{transfer.to_extension} has answered",
                field="transfer_id",
            )
        view = self._views.call_view(transfer.call_id)
        if view is None or view.caller_channel is None:
            reason = "the caller hung up during the consultation"
            self._settle(transfer.id, TransferStatus.ABANDONED, reason, actor)
            raise CallActionError(
                "conflict", "call_gone", f"transfer {transfer.id}: {reason}", field="transfer_id"
            )
        return await asyncio.shield(self._spawn(self._complete(transfer, actor)))

    async def _complete(self, transfer: Transfer, actor: str) -> Transfer:
        self._book.ask(transfer.id, "complete", actor)
        try:
            await actions.complete_attended_transfer(self._link, transfer.channel or "")
        except AmiError as exc:
            if not isinstance(exc, AmiNoSuchChannelError):  # gone already: its events tell how it ended
                self._book.ask(transfer.id, None)
                raise from_ami(exc, "Hangup") from None
        await self._news.until(lambda: not self._current(transfer.id).active, self._confirm_s)
        now = self._current(transfer.id)
        log.info("transfer.complete_asked", transfer_id=transfer.id, call_id=transfer.call_id, actor=actor)
        if now.status is TransferStatus.COMPLETED:
            return now
        if now.active:
            raise CallActionError(
                "pbx_timeout",
                "transfer_unconfirmed",
                f"the PBX did not report transfer {transfer.id} completed within {self._confirm_s:g} s",
            )
        raise _finished(now, "completed")

    async def cancel(self, transfer_id: str, actor: str) -> Transfer:
        transfer = self._attended(transfer_id, "cancelled")
        self._pbx_reachable()
        return await asyncio.shield(self._spawn(self._cancel(transfer, actor)))

    async def _cancel(self, transfer: Transfer, actor: str) -> Transfer:
        self._book.ask(transfer.id, "cancel", actor)
        try:
            await actions.cancel_attended_transfer(self._link, transfer.channel or "")
        except AmiError as exc:
            self._book.ask(transfer.id, None)
            now = self._current(transfer.id)
            if not now.active:  # it ended meanwhile: say how
                raise _finished(now, "cancelled") from None
            raise from_ami(exc, "CancelAtxfer") from None
        target = transfer.to_extension
        # Answer once the target's leg has left the call, so what GET /calls shows agrees with us.
        await self._news.until(
            lambda: not _in_call(self._views.call_view(transfer.call_id), target), self._confirm_s
        )
        # The target's leg going is the abandonment's news; without one (the target never rang) it is this.
        back = f"cancelled by {actor}; the caller is back with {transfer.from_extension}"
        return self._settle(transfer.id, TransferStatus.ABANDONED, back, actor)

    def _pbx_reachable(self) -> None:
        """Without an AMI session the tracker's picture is stale and nothing can be asked: say so first."""
        if not self._link.connected:
            raise CallActionError("unavailable", "ami_unavailable", "no AMI session with the PBX now")

    def _attended(self, transfer_id: str, verb: str) -> Transfer:
        transfer = self._book.get(transfer_id)
        if transfer is None:
            raise CallActionError("not_found", "not_found", f"no transfer {transfer_id}", field="transfer_id")
        if transfer.mode != "attended":
            raise CallActionError(
                "conflict",
                "not_attended",
                f"transfer {transfer.id} is blind: it cannot be {verb} here (the caller left "
                f"{transfer.from_extension} when it started; it completes when "
                f"{transfer.to_extension} answers)",
                field="transfer_id",
            )
        if not transfer.active:
            raise _finished(transfer, verb)
        if transfer.asked is not None:
            raise CallActionError(
                "conflict",
                "transfer_busy",
                f"transfer {transfer.id} is already being {transfer.asked}d by {transfer.asked_by}",
                field="transfer_id",
            )
        return transfer

    # --- bookkeeping ---------------------------------------------------------------------------------
    def _status(self, transfer_id: str) -> TransferStatus:
        return self._current(transfer_id).status

    def _current(self, transfer_id: str) -> Transfer:
        transfer = self._book.get(transfer_id)
        assert transfer is not None, "an active transfer is never forgotten"
        return transfer

    def _settle(self, transfer_id: str, status: TransferStatus, reason: str, actor: str | None) -> Transfer:
        before = self._current(transfer_id)
        after = self._book.settle(transfer_id, status, self._clock(), reason)
        if after != before:
            self._reports.report(after, actor)
        return after

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(_forget)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Stop what is still under way (the daemon is stopping)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._reports.close()


def _finished(transfer: Transfer, verb: str) -> CallActionError:
    why = f" ({transfer.reason})" if transfer.reason else ""
    return CallActionError(
        "conflict",
        "transfer_finished",
        f"transfer {transfer.id} is already {transfer.status}{why}: it cannot be {verb}",
        field="transfer_id",
    )


def _in_call(view: CallView | None, extension: str) -> bool:
    return view is not None and (extension in view.talking or extension in view.ringing)


def _forget(task: asyncio.Task[Any]) -> None:
    """A shielded action's outcome is read by its caller, unless the caller went away: then it is only
    the log lines already written, not an "exception was never retrieved" at exit."""
    if not task.cancelled():
        task.exception()


__all__ = ["TransferObserver", "TransferRequest", "TransferService"]
