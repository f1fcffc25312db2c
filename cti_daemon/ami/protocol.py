"""The asyncio protocol of one AMI connection: panoramisk's action/response matching, our framing.

panoramisk keeps what it does well: building actions (ActionIDs, multi-valued headers) and matching
responses and list items to the action that asked (its `Action` futures). Replaced here: reading
(`FrameReader`: incremental UTF-8, cheap noise drop), event delivery (a plain callback, no fnmatch
dispatch) and what happens to unanswered actions on disconnect (failed, never silently re-sent after a
reconnect: a transfer re-sent minutes later would move the wrong call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk import actions as pk_actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from cti_daemon.ami.errors import AmiDisconnectedError
from cti_daemon.ami.frames import AmiMessage, FrameReader

EventSink = Callable[[AmiMessage], None]


class _NoFactory:
    """panoramisk's protocol consults its Manager for these; we have no Manager and re-send nothing."""

    forgetable_actions: tuple[str, ...] = ()
    awaiting_actions: list[Any] = []  # noqa: RUF012 - never appended to: close() is overridden

    def dispatch(self, _message: Any) -> None:
        return None


class AmiProtocol(AMIProtocol):  # type: ignore[misc]
    """One TCP connection to Asterisk."""

    closed: bool
    responses: dict[str, Any]

    def __init__(
        self,
        reader: FrameReader,
        on_event: EventSink,
        on_banner: Callable[[str], None],
        on_lost: Callable[[BaseException | None], None],
    ) -> None:
        super().__init__()
        self._reader = reader
        self._on_event = on_event
        self._on_banner = on_banner
        self._on_lost = on_lost
        self._banner_seen = False
        # Events that answer an action after its response (OriginateResponse), by ActionID.
        self.event_waiters: dict[str, asyncio.Future[AmiMessage]] = {}
        self.unsolicited = 0

    # --- asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.encoding = "utf-8"
        self.factory = _NoFactory()

    def data_received(self, data: bytes) -> None:
        messages = self._reader.feed(data)
        if not self._banner_seen and self._reader.banner is not None:
            self._banner_seen = True
            self._on_banner(self._reader.banner)
        pending = self.responses
        for msg in messages:
            action_id = msg.get("ActionID")
            if action_id is None:
                if "Event" in msg:
                    self._on_event(msg)
                continue
            action = pending.get(action_id)
            if action is not None:
                self._answer(action, msg)
                continue
            waiter = self.event_waiters.get(action_id)
            if waiter is not None and "Event" in msg and not waiter.done():
                waiter.set_result(msg)
                continue
            # An answer nobody waits for (a list item of an action that timed out): list items reuse
            # live event names (DeviceStateChange, ExtensionStatus), so it must not pass for live news.
            self.unsolicited += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self._fail_pending(AmiDisconnectedError("AMI connection lost"))
        self._on_lost(exc)

    # --- panoramisk hooks ---------------------------------------------------------------------------
    def close(self) -> None:
        self._fail_pending(AmiDisconnectedError("AMI connection closed"))
        if not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once (a dead peer does not answer a FIN either)."""
        transport = getattr(self, "transport", None)
        if transport is not None:
            transport.abort()

    def send_action(self, headers: Mapping[str, str | list[str]], *, as_list: bool) -> asyncio.Future[Any]:
        action = pk_actions.Action(dict(headers), as_list=as_list)
        future: asyncio.Future[Any] = self.send(action, as_list=as_list)
        return future

    # --- internals ----------------------------------------------------------------------------------
    def _answer(self, action: Any, msg: AmiMessage) -> None:
        message = Message(msg)
        if action.as_list and not action.responses and msg.get("Response") in ("Error", "Failure"):
            # panoramisk waits forever for list items after an error answer to a list action
            # (Asterisk answers "Invalid/unknown command" to DeviceStateList while it boots).
            self.responses.pop(action.id, None)
            if not action.future.done():
                action.future.set_result([message])
            return
        self.handle_message(message)

    def _fail_pending(self, exc: BaseException) -> None:
        futures = [action.future for action in self.responses.values()]
        futures.extend(self.event_waiters.values())
        for future in futures:
            if not future.done():
                future.set_exception(exc)
                # Retrieved here so an action nobody awaits any more does not log "never retrieved".
                future.exception()
        self.responses.clear()
