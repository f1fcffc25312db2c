"""A private MQTT broker on loopback for the demo and the tests: the mosquitto binary when installed,
else the embedded amqtt broker. Can be stopped and started again on the same port (broker restarts)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import socket
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cti_daemon import logs

log = logs.get("cti.demo.broker")

_SEARCH = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in _SEARCH if Path(p).is_file()), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g} s") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


class BrokerUnavailableError(RuntimeError):
    """Neither mosquitto nor the embedded broker (the `demo` extra) is installed."""


NO_BROKER = (
    "no MQTT broker for the demo: neither the mosquitto binary nor the embedded broker amqtt is installed. "
    "Install one: `sudo apt install mosquitto`, or `pip install 'cti-daemon[demo]'` "
    "(from a clone, `make demo` installs it)."
)


class LocalBroker:
    """`async with LocalBroker(port) as broker:`; `broker.kind` is "mosquitto" or "amqtt"."""

    def __init__(self, port: int | None = None, *, prefer: str = "mosquitto", extra_config: str = "") -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._binary = mosquitto_binary() if prefer == "mosquitto" else None
        self.kind = "mosquitto" if self._binary else "amqtt"
        self._extra = extra_config
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._log: Path | None = None
        self._amqtt: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    async def start(self) -> None:
        if self._binary is not None:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="cti-broker-")
            conf = Path(self._dir.name) / "mosquitto.conf"
            anonymous = "" if "allow_anonymous" in self._extra else "allow_anonymous true\n"
            # Started as root, mosquitto drops to the "mosquitto" user and then cannot read files the
            # caller prepared (password files, ACLs in private temp dirs): stay the caller's user.
            conf.write_text(
                f"user {getpass.getuser()}\nlistener {self.port} {self.host}\n{anonymous}persistence false\n"
                f"{self._extra}\n",
                encoding="utf-8",
            )
            self._log = Path(self._dir.name) / "mosquitto.log"
            with self._log.open("ab") as log_file:
                self._proc = await asyncio.create_subprocess_exec(
                    self._binary,
                    "-c",
                    str(conf),
                    stdout=log_file,
                    stderr=log_file,
                )
        else:
            try:
                from amqtt.broker import Broker  # noqa: PLC0415 - the `demo` extra, only without mosquitto
            except ImportError:
                raise BrokerUnavailableError(NO_BROKER) from None

            self._amqtt = Broker(
                {
                    "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                    "plugins": {
                        "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                    },
                }
            )
            await self._amqtt.start()
        try:
            await wait_port(self.host, self.port)
        except TimeoutError:
            tail = self._log.read_text(errors="replace")[-500:] if self._log and self._log.exists() else ""
            raise TimeoutError(f"{self.kind} did not start on port {self.port}: {tail}") from None

    async def stop(self) -> None:
        """Stop hard (SIGKILL for mosquitto): clients see the connection drop, as on a crash."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
            self._proc = None
        if self._amqtt is not None:
            with contextlib.suppress(Exception):
                await self._amqtt.shutdown()
            self._amqtt = None
