"""After every (re)login, ask Asterisk what is true now and correct the tracker with it.

CoreShowChannels first (calls that ended while we were away end, calls that started are adopted: a ringing
one pops), then DeviceStateList and ExtensionStateList (lines) and QueueStatus (queue members and their
pause state; an Asterisk without app_queue refuses it and the lines are corrected without it). Just after
a restart Asterisk accepts logins before it has booted and answers "Invalid/unknown command" to
DeviceStateList: the lines then wait for FullyBooted and are asked again. Live events that arrive while
the lists are on their way are fresher than the lists and win (`CallTracker.mark`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from cti_daemon import logs
from cti_daemon.ami.call_events import CallAnswered, CallEnded, CallEvent, CallRinging, LineChanged
from cti_daemon.ami.errors import AmiActionError, AmiTimeoutError
from cti_daemon.ami.link import AmiLink
from cti_daemon.ami.tracker import CallTracker

log = logs.get("cti.ami.resync")

Submit = Callable[[Iterable[CallEvent]], None]
_NOT_BOOTED = "invalid/unknown command"


class Resync:
    """The AMI link's `on_session` hook: `AmiLink(..., on_session=Resync(tracker, submit))`."""

    def __init__(
        self,
        tracker: CallTracker,
        submit: Submit,
        *,
        list_timeout_s: float = 10.0,
        boot_wait_s: float = 300.0,
    ) -> None:
        self._tracker = tracker
        self._submit = submit
        self._list_timeout_s = list_timeout_s
        self._boot_wait_s = boot_wait_s
        self.runs = 0

    async def __call__(self, link: AmiLink) -> None:
        tracker = self._tracker
        mark = tracker.mark()
        channels = await self._list(link, "CoreShowChannels")
        calls = self._apply(tracker.resync(channels=channels, since=mark)) if channels is not None else []
        mark = tracker.mark()
        devices = await self._list(link, "DeviceStateList")
        hints = await self._list(link, "ExtensionStateList")
        queues = await self._list(link, "QueueStatus")
        lines = self._apply(tracker.resync(devices=devices, hints=hints, queue_members=queues, since=mark))
        self.runs += 1
        log.info(
            "ami.resynced",
            channels=len(channels) if channels is not None else None,
            calls=len(tracker.calls),
            ended=sum(isinstance(e, CallEnded) for e in calls),
            adopted_ringing=sum(isinstance(e, CallRinging) for e in calls),
            adopted_answered=sum(isinstance(e, CallAnswered) for e in calls),
            lines_corrected=sum(isinstance(e, LineChanged) for e in calls + lines),
        )

    def _apply(self, events: list[CallEvent]) -> list[CallEvent]:
        if events:
            self._submit(events)
        return events

    async def _list(self, link: AmiLink, action: str) -> list[Mapping[str, str]] | None:
        """The list's items; None when Asterisk will not give it (that part of the state is then left as
        the events made it, and a log line says why)."""
        try:
            return await self._items(link, action)
        except AmiTimeoutError:
            # Not in time (a huge app_queue, a PBX under load): that part of the state stays as the events
            # make it; the lists already read are not thrown away with it.
            log.warning("ami.resync_list_timeout", action=action, timeout_s=self._list_timeout_s)
            return None
        except AmiActionError as exc:
            if _NOT_BOOTED not in exc.message.lower():
                log.warning("ami.resync_list_refused", action=action, reason=exc.message)
                return None
        log.info("ami.resync_waits_for_boot", action=action, reason="Asterisk has not finished booting")
        try:
            await link.wait_booted(self._boot_wait_s)
        except TimeoutError:
            raise AmiTimeoutError(
                f"{action}: Asterisk did not finish booting in {self._boot_wait_s:g} s"
            ) from None
        try:
            return await self._items(link, action)
        except AmiActionError as exc:  # booted, and still unknown: an Asterisk without this action
            log.warning("ami.resync_list_refused", action=action, reason=exc.message)
            return None

    async def _items(self, link: AmiLink, action: str) -> list[Mapping[str, str]]:
        return list((await link.action(action, as_list=True, timeout=self._list_timeout_s)).items)
