"""The AMI link: one logged-in session to Asterisk at a time, kept alive for the daemon's lifetime.

Closes panoramisk's gaps: a refused login is an error we log and back off from (not silence); pings are
answered or the connection is declared dead within two ping intervals and rebuilt; reconnects back off
exponentially with jitter up to `reconnect_max_delay_s`, starting again from the first step after a
session that logged in and resynced; `close()` really stops; nothing raised while handling an event
escapes the link. `health` says why the link is down (link_health.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from cti_daemon import logs
from cti_daemon.ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiDisconnectedError,
    AmiError,
    AmiNotConnectedError,
    AmiPeerSilentError,
    AmiTimeoutError,
)
from cti_daemon.ami.exchange import exchange
from cti_daemon.ami.frames import AmiMessage, FrameReader
from cti_daemon.ami.link_health import DownReason, LinkHealth, describe, reason_of
from cti_daemon.ami.protocol import AmiProtocol
from cti_daemon.ami.response import AmiResponse
from cti_daemon.backoff import backoff_delay
from cti_daemon.config import AmiConfig

__all__ = ["AmiLink", "EventSink", "SessionHook", "StateSink"]

log = logs.get("cti.ami.link")

_STABLE_SESSION_S = 10.0  # a session that lived this long resets the back-off (so does a resync)

SessionHook = Callable[["AmiLink"], Awaitable[None]]
EventSink = Callable[[AmiMessage], None]
StateSink = Callable[[bool], None]


class AmiLink:
    """Use as `async with AmiLink(cfg, on_event=...) as link:`; it connects and reconnects by itself."""

    def __init__(
        self,
        config: AmiConfig,
        *,
        on_event: EventSink,
        on_session: SessionHook | None = None,
        on_state: StateSink | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._cfg = config
        self._on_event = on_event
        self._on_session = on_session
        self._on_state = on_state
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._protocol: AmiProtocol | None = None
        self._logged_in = False
        self._since = datetime.now(UTC)
        self._ready = asyncio.Event()
        self._lost: asyncio.Future[None] | None = None
        self._banner: asyncio.Future[str] | None = None
        self._reader: FrameReader | None = None
        self._booted = asyncio.Event()
        self._hook: asyncio.Task[None] | None = None
        self._totals = {"messages": 0, "dropped": 0, "malformed": 0, "unsolicited": 0}
        self._resynced = False  # this session logged in and its on_session hook finished
        self._reason: DownReason | None = None  # why the last attempt or session failed
        self._error: tuple[str, datetime] | None = None
        self._told: tuple[bool, DownReason | None] = (False, None)  # what on_state last heard
        self.sessions = 0
        self.last_delay_s: float | None = None  # the back-off chosen after the last attempt or session

    # --- lifetime ------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="ami-link")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await hook
        if self._protocol is not None:
            with contextlib.suppress(Exception):
                self._protocol.close()
        self._set_connected(connected=False)

    @property
    def connected(self) -> bool:
        return self._logged_in

    @property
    def since(self) -> datetime:
        return self._since

    @property
    def health(self) -> LinkHealth:
        """Up (logged in, Asterisk booted) or why not, and the last failure (kept after recovery)."""
        error, error_at = self._error if self._error is not None else (None, None)
        if self._logged_in:
            reason = None if self._booted.is_set() else DownReason.BOOTING
            return LinkHealth(up=reason is None, reason=reason, last_error=error, last_error_at=error_at)
        return LinkHealth(up=False, reason=self._reason, last_error=error, last_error_at=error_at)

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    def stats(self) -> dict[str, int]:
        """Messages delivered, noise frames dropped, malformed frames skipped, answers nobody waited for
        (list items of an action that timed out), over all sessions."""
        out = dict(self._totals)
        if self._reader is not None:
            out["messages"] += self._reader.messages
            out["dropped"] += self._reader.dropped
            out["malformed"] += self._reader.malformed
        if self._protocol is not None:
            out["unsolicited"] += self._protocol.unsolicited
        return out

    async def wait_booted(self, timeout: float | None = None) -> None:
        """Until this session has seen FullyBooted. Right after a restart Asterisk accepts logins before it
        has booted and answers "Invalid/unknown command" to DeviceStateList until then."""
        await asyncio.wait_for(self._booted.wait(), timeout)

    def kill_connection(self) -> None:
        """Abort the current TCP connection (the watchdog's tool; also for tests of reconnects)."""
        if self._protocol is not None:
            self._protocol.abort()

    # --- actions -------------------------------------------------------------------------------------
    async def action(
        self,
        name: str,
        headers: Mapping[str, str | list[str]] | None = None,
        *,
        timeout: float = 5.0,
        as_list: bool = False,
        check: bool = True,
    ) -> AmiResponse:
        """Send one action and wait for its answer (and list items). Raises a typed AmiError."""
        if not self._logged_in or self._protocol is None:
            raise AmiNotConnectedError(f"{name}: AMI is not connected")
        return await self._send(
            self._protocol, name, headers or {}, timeout=timeout, as_list=as_list, check=check
        )

    async def action_then_event(
        self,
        name: str,
        headers: Mapping[str, str | list[str]],
        *,
        event: str,
        timeout: float = 5.0,
        event_timeout: float = 30.0,
    ) -> tuple[AmiResponse, Mapping[str, str]]:
        """An action whose outcome comes later as an event with the same ActionID (Originate with
        Async: true answers "queued", then OriginateResponse). Returns the response and that event."""
        protocol = self._protocol
        if not self._logged_in or protocol is None:
            raise AmiNotConnectedError(f"{name}: AMI is not connected")
        action_id = f"cti-{uuid.uuid4().hex}"
        waiter: asyncio.Future[AmiMessage] = asyncio.get_running_loop().create_future()
        protocol.event_waiters[action_id] = waiter
        try:
            response = await self._send(
                protocol, name, {**headers, "ActionID": action_id}, timeout=timeout, as_list=False, check=True
            )
            try:
                async with asyncio.timeout(event_timeout):
                    outcome = await waiter
            except TimeoutError:
                raise AmiTimeoutError(f"{name}: no {event} within {event_timeout:g} s") from None
        finally:
            protocol.event_waiters.pop(action_id, None)
        if outcome.get("Event") != event:
            raise AmiActionError(name, f"expected {event}, got {outcome.get('Event')}")
        return response, outcome

    async def _send(
        self,
        protocol: AmiProtocol,
        name: str,
        headers: Mapping[str, str | list[str]],
        *,
        timeout: float,
        as_list: bool,
        check: bool,
    ) -> AmiResponse:
        return await exchange(protocol, name, headers, timeout=timeout, as_list=as_list, check=check)

    # --- the session loop ----------------------------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        while True:
            started = time.monotonic()
            self._resynced = False
            try:
                await self._session()
            except AmiAuthError as exc:
                self._failed(exc)
                log.error(  # noqa: TRY400 - a refused login is an expected outcome; a traceback is noise
                    "ami.login_failed",
                    host=self._cfg.host,
                    port=self._cfg.port,
                    username=self._cfg.username,
                    reason=str(exc),
                )
            except (OSError, AmiError, TimeoutError) as exc:
                self._failed(exc)
                log.warning(
                    "ami.connection_failed", host=self._cfg.host, port=self._cfg.port, reason=describe(exc)
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                log.exception("ami.session_crashed")
            finally:
                self._teardown()
            # A session that logged in and resynced worked: the next drop (Asterisk restarted again) is
            # retried from the first step. A refused login, or a PBX that drops us before the resync is
            # done, keeps growing the delay.
            if self._resynced or time.monotonic() - started >= _STABLE_SESSION_S:
                attempt = 0
            delay = self.last_delay_s = backoff_delay(attempt, self._cfg.reconnect_max_delay_s, self._rng)
            attempt += 1
            log.info("ami.reconnecting", delay_s=round(delay, 2), attempt=attempt)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        self._banner = loop.create_future()
        self._booted.clear()
        reader = FrameReader(drop_events=self._cfg.event_filter, on_malformed=self._malformed)
        self._reader = reader
        async with asyncio.timeout(self._cfg.connect_timeout_s):
            _, protocol = await loop.create_connection(
                lambda: AmiProtocol(reader, self._deliver, self._banner_received, self._connection_lost),
                self._cfg.host,
                self._cfg.port,
            )
        self._protocol = protocol
        timeout = self._cfg.connect_timeout_s
        try:
            async with asyncio.timeout(timeout):
                banner = await asyncio.shield(self._banner)
        except TimeoutError:
            raise AmiTimeoutError(f"no AMI greeting within {timeout:g} s") from None
        await self._login(protocol, timeout)
        self.sessions += 1
        log.info(
            "ami.connected", host=self._cfg.host, port=self._cfg.port, banner=banner, session=self.sessions
        )
        await self._apply_filters(protocol)
        self._set_connected(connected=True)
        if self._on_session is None:
            self._resynced = True
        else:
            # Alongside the watchdog, not before it: a resync waiting for FullyBooted must not keep a
            # dead peer from being noticed.
            self._hook = asyncio.create_task(self._run_session_hook(self._on_session), name="ami-session")
        await self._watch(protocol)

    async def _run_session_hook(self, hook: SessionHook) -> None:
        try:
            await hook(self)
            self._resynced = True
        except AmiDisconnectedError:
            pass  # the session ended under it; the next session runs the hook again
        except AmiError as exc:
            log.warning("ami.session_hook_failed", reason=describe(exc))
        except Exception:
            # A bug in the resync must not cost us the live event stream.
            log.exception("ami.session_hook_crashed")

    async def _login(self, protocol: AmiProtocol, timeout: float) -> None:
        secret = self._cfg.secret.reveal() if self._cfg.secret is not None else ""
        try:
            response = await self._send(
                protocol,
                "Login",
                {"Username": self._cfg.username, "Secret": secret, "Events": "on"},
                timeout=timeout + 2.0,  # Asterisk delays a failed login by about a second
                as_list=False,
                check=False,
            )
        except AmiDisconnectedError:
            raise AmiAuthError("connection closed during login", refused=False) from None
        if not response.ok:
            raise AmiAuthError(response.message or "login refused")

    async def _apply_filters(self, protocol: AmiProtocol) -> None:
        """Ask Asterisk not to send the noise at all; when it refuses, the reader still drops it."""
        if not self._cfg.event_filter:
            return
        try:
            for name in self._cfg.event_filter:
                await self._send(
                    protocol,
                    "Filter",
                    {"Operation": "Add", "Filter": f"!Event: {name}"},
                    timeout=self._cfg.connect_timeout_s,
                    as_list=False,
                    check=True,
                )
        except AmiActionError as exc:
            log.info("ami.filter_refused", reason=exc.message, effect="noise dropped on arrival instead")

    async def _watch(self, protocol: AmiProtocol) -> None:
        """Ping every interval; an unanswered ping means a dead peer: abort and let _run reconnect."""
        interval = self._cfg.ping_interval_s
        assert self._lost is not None
        while not self._lost.done():
            done, _ = await asyncio.wait({self._lost}, timeout=interval)
            if done:
                break
            try:
                await self._send(protocol, "Ping", {}, timeout=interval, as_list=False, check=False)
            except AmiTimeoutError:
                log.warning("ami.peer_silent", waited_s=interval, action="reconnecting")
                protocol.abort()
                raise AmiPeerSilentError("AMI peer stopped answering pings") from None
        raise AmiDisconnectedError("AMI connection closed by the peer")

    # --- protocol callbacks --------------------------------------------------------------------------
    def _deliver(self, msg: AmiMessage) -> None:
        if msg.get("Event") == "FullyBooted":
            self._booted.set()
            self._tell_state()
        try:
            self._on_event(msg)
        except Exception:
            # One bad event must not stop the stream: log it with enough to reproduce, carry on.
            log.exception("ami.event_handler_failed", ami_event=msg.get("Event"), channel=msg.get("Channel"))

    def _banner_received(self, banner: str) -> None:
        if self._banner is not None and not self._banner.done():
            self._banner.set_result(banner)

    def _connection_lost(self, exc: BaseException | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        if self._logged_in:
            log.warning("ami.disconnected", reason=describe(exc) if exc else "closed by peer")
        self._set_connected(connected=False)

    def _malformed(self, reason: str, excerpt: str) -> None:
        # Each of the first ten, then one line a thousand: a PBX spewing garbage must not flood the log.
        count = self._reader.malformed if self._reader is not None else 0
        if count <= 10 or count % 1000 == 0:
            log.warning("ami.malformed_frame", reason=reason, excerpt=excerpt, malformed_this_session=count)

    def _teardown(self) -> None:
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.cancel()
        reader, self._reader = self._reader, None
        if reader is not None:
            self._totals["messages"] += reader.messages
            self._totals["dropped"] += reader.dropped
            self._totals["malformed"] += reader.malformed
        if self._protocol is not None:
            self._totals["unsolicited"] += self._protocol.unsolicited
            with contextlib.suppress(Exception):
                self._protocol.close()
            self._protocol = None
        self._set_connected(connected=False)

    def _set_connected(self, *, connected: bool) -> None:
        if connected == self._logged_in:
            return
        self._logged_in = connected
        self._since = datetime.now(UTC)
        if connected:
            self._reason = None  # a later drop must not show an older session's reason meanwhile
            self._ready.set()
        else:
            self._ready.clear()
        self._tell_state()

    def _failed(self, exc: BaseException) -> None:
        self._reason = reason_of(exc)
        self._error = (describe(exc), datetime.now(UTC))
        self._tell_state()

    def _tell_state(self) -> None:
        """on_state hears every change of connected or of the reason why not (booting -> booted too)."""
        now = (self._logged_in, self.health.reason)
        if now != self._told and self._on_state is not None:
            self._told = now
            self._on_state(self._logged_in)
