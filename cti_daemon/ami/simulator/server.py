"""The AMI server of the simulated PBX: a real TCP listener speaking Asterisk's manager protocol.

Login with a credentials check (a wrong secret is answered after a delay and the connection closed, as
Asterisk does), Ping, Logoff, Events and Filter, and the call and list actions of `actions.py`; more can
be registered by name (`actions`). The AMI user's write privileges are checked ("Permission denied").
Control hooks let tests play the bad cases: refuse connections, go silent, close mid-frame, stop and
start again booting (logins accepted, DeviceStateList "Invalid/unknown command" until `finish_boot`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self

from cti_daemon import logs
from cti_daemon.ami.frames import AmiMessage, FrameReader
from cti_daemon.ami.simulator import actions as call_actions
from cti_daemon.ami.simulator import flows
from cti_daemon.ami.simulator.pbx import Headers, SimPbx

log = logs.get("cti.simulator")

BANNER = "Asterisk Call Manager/11.0.0\r\n"
ActionHandler = Callable[["AmiSession", AmiMessage], Coroutine[Any, Any, None] | None]
_NEGATED_EVENT = re.compile(r"^!Event: (\w+)$")


def encode(kind: str, name: str, headers: Headers) -> bytes:
    parts = [f"{kind}: {name}\r\n"]
    parts.extend(f"{k}: {v}\r\n" for k, v in headers)
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


class AmiSession(asyncio.Protocol):
    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.reader = FrameReader(expect_banner=False)
        self.transport: asyncio.Transport | None = None
        self.authenticated = False
        self.events_on = True
        self.silent = False
        self.excluded: set[str] = set()
        self.includes: list[re.Pattern[str]] = []
        self.excludes: list[re.Pattern[str]] = []
        self.peer = ""

    # --- asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}/{peer[1]}" if peer else "?"
        self.server.sessions.add(self)
        if self.server.hung:
            self.silent = True  # the port still accepts, but nothing is ever said: not even the greeting
            return
        transport.write(BANNER.encode())

    def data_received(self, data: bytes) -> None:
        if self.silent:
            return
        for action in self.reader.feed(data):
            result = self.server.dispatch(self, action)
            if result is not None:
                task = asyncio.get_running_loop().create_task(result)
                self.server.tasks.add(task)
                task.add_done_callback(self.server.tasks.discard)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sessions.discard(self)

    # --- writing ------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing() and not self.silent:
            self.transport.write(data)

    def respond(self, action: AmiMessage, response: str, headers: Headers | None = None) -> None:
        head: Headers = []
        if "ActionID" in action:
            head.append(("ActionID", action["ActionID"]))
        self.write(encode("Response", response, [*head, *(headers or [])]))

    def event(self, name: str, headers: Headers, action: AmiMessage | None = None) -> None:
        """A list item or an event that answers an action: carries the action's ActionID."""
        head: Headers = [("ActionID", action["ActionID"])] if action and "ActionID" in action else []
        self.write(encode("Event", name, [*head, *headers]))

    def wants(self, name: str, privilege: str, headers: Headers) -> bool:
        if not self.authenticated or not self.events_on or name in self.excluded:
            return False
        if not self.includes and not self.excludes:
            return True
        text = f"Event: {name}\r\nPrivilege: {privilege}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        if self.includes and not any(p.search(text) for p in self.includes):
            return False
        return not any(p.search(text) for p in self.excludes)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class AmiServer:
    def __init__(
        self,
        pbx: SimPbx,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "cti",
        secret: str = "secret",  # noqa: S107 - the simulator's default, as in the recorded traces
        login_failure_delay_s: float = 1.0,
        write: tuple[str, ...] = ("call", "originate", "system"),
    ) -> None:
        self.pbx = pbx
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.login_failure_delay_s = login_failure_delay_s
        self.write = write
        self.booting = False
        self.hung = False  # go_silent(hang=True): connections made from now on are silent too
        self.sessions: set[AmiSession] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.actions: dict[str, ActionHandler] = {
            "login": self._login,
            "logoff": self._logoff,
            "ping": self._ping,
            "events": self._events,
            "filter": self._filter,
        }
        call_actions.install(self)
        self.logins = 0
        self.failed_logins = 0
        self.received: Counter[str] = Counter()  # actions asked of this PBX, by lower-case name
        self._server: asyncio.Server | None = None
        self._started = time.time()

    # --- lifetime ------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.start()
        self.pbx.listeners.append(self._broadcast)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(ValueError):
            self.pbx.listeners.remove(self._broadcast)
        await self.stop()
        for task in list(self.tasks):
            task.cancel()

    async def start(self, *, booting: bool = False) -> None:
        """Listen (again) on the same port. `booting`: as Asterisk just after a restart, logins are taken
        but FullyBooted only comes with `finish_boot()` and DeviceStateList is an unknown command."""
        self.booting = booting
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AmiSession(self), self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening (connections are then refused) and close every session."""
        if self._server is not None:
            self._server.close()
            self.drop_connections()
            await self._server.wait_closed()
            self._server = None
        self.drop_connections()

    # --- control hooks for tests ---------------------------------------------------------------------
    async def shut_down(self, *, restart: bool = True) -> None:
        """As `core restart now` with a call up: every channel is hung up (SoftHangupRequest cause 4),
        then Event: Shutdown, then the sockets close and the port stops listening."""
        for chan in list(self.pbx.channels.values()):
            if chan.uniqueid in self.pbx.channels:
                self.pbx.hangup_request(chan, 4, soft=True)
                flows.hangup(self.pbx, chan, 4, by="ami")
        self.pbx.cancel_flows()
        self.pbx.emit(
            "Shutdown", "system,all", [("Shutdown", "Cleanly"), ("Restart", "True" if restart else "False")]
        )
        await asyncio.sleep(0)
        await self.stop()

    def finish_boot(self) -> None:
        self.booting = False
        for session in self.sessions:
            if session.authenticated:
                session.write(self._fully_booted())

    def _fully_booted(self) -> bytes:
        uptime = str(int(time.time() - self._started) + 60)
        return encode(
            "Event",
            "FullyBooted",
            [
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ],
        )

    def drop_connections(self) -> None:
        for session in list(self.sessions):
            session.close()

    def go_silent(self, *, hang: bool = False) -> None:
        """Keep every connection open but never answer or send again (a dead NAT). `hang`: a hung
        Asterisk, whose port still accepts connections that never hear a greeting, until `wake_up()`."""
        self.hung = self.hung or hang
        for session in self.sessions:
            session.silent = True

    def wake_up(self) -> None:
        """New connections are answered again (the silent ones stay silent: they are dead to us)."""
        self.hung = False

    def close_mid_frame(self) -> None:
        for session in list(self.sessions):
            session.write(b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/10")
            session.close()

    # --- dispatch ------------------------------------------------------------------------------------
    def dispatch(self, session: AmiSession, action: AmiMessage) -> Coroutine[Any, Any, None] | None:
        name = action.get("Action", "").lower()
        if not name:
            session.respond(action, "Error", [("Message", "Missing action in request")])
            return None
        if not session.authenticated and name not in ("login", "logoff"):
            session.respond(action, "Error", [("Message", "Permission denied")])
            return None
        self.received[name] += 1
        handler = self.actions.get(name)
        if handler is None:
            session.respond(action, "Error", [("Message", "Invalid/unknown command")])
            return None
        needs = call_actions.WRITE_CLASS.get(name)
        if needs is not None and needs not in self.write:
            session.respond(action, "Error", [("Message", "Permission denied")])
            return None
        return handler(session, action)

    def _broadcast(self, name: str, privilege: str, headers: Headers) -> None:
        data: bytes | None = None
        for session in self.sessions:
            if session.wants(name, privilege, headers):
                if data is None:
                    data = encode("Event", name, [("Privilege", privilege), *headers])
                session.write(data)

    # --- built-in actions ----------------------------------------------------------------------------
    async def _login(self, session: AmiSession, action: AmiMessage) -> None:
        user, secret = action.get("Username", ""), action.get("Secret", "")
        if user != self.username or secret != self.secret:
            self.failed_logins += 1
            self.pbx.emit(
                "InvalidAccountID" if user != self.username else "InvalidPassword",
                "security,all",
                [
                    ("Severity", "Error"),
                    ("Service", "AMI"),
                    ("AccountID", user),
                    ("RemoteAddress", f"IPV4/TCP/{session.peer}"),
                ],
            )
            await asyncio.sleep(self.login_failure_delay_s)
            session.respond(action, "Error", [("Message", "Authentication failed")])
            session.close()
            return
        self.logins += 1
        session.events_on = action.get("Events", "on").lower() != "off"
        session.respond(action, "Success", [("Message", "Authentication accepted")])
        session.authenticated = True
        if not self.booting:
            session.write(self._fully_booted())
        self.pbx.emit(
            "SuccessfulAuth",
            "security,all",
            [
                ("Severity", "Informational"),
                ("Service", "AMI"),
                ("EventVersion", "1"),
                ("AccountID", user),
                ("RemoteAddress", f"IPV4/TCP/{session.peer}"),
                ("UsingPassword", "0"),
            ],
        )

    def _logoff(self, session: AmiSession, action: AmiMessage) -> None:
        session.respond(action, "Goodbye", [("Message", "Thanks for all the fish.")])
        session.close()

    def _ping(self, session: AmiSession, action: AmiMessage) -> None:
        session.respond(action, "Success", [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])

    def _events(self, session: AmiSession, action: AmiMessage) -> None:
        mask = action.get("EventMask", "on").lower()
        session.events_on = mask != "off"
        session.respond(action, "Success", [("Events", "On" if session.events_on else "Off")])

    def _filter(self, session: AmiSession, action: AmiMessage) -> None:
        text = action.get("Filter", "")
        if action.get("Operation", "Add").lower() != "add" or not text:
            session.respond(action, "Error", [("Message", "Unknown operation")])
            return
        simple = _NEGATED_EVENT.match(text)
        try:
            if simple is not None:
                session.excluded.add(simple.group(1))
            elif text.startswith("!"):
                session.excludes.append(re.compile(text[1:]))
            else:
                session.includes.append(re.compile(text))
        except re.error:
            session.respond(action, "Error", [("Message", "Filter Not Added")])
            return
        session.respond(action, "Success", [("Message", "Filter Added Successfully")])
