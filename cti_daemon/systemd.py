"""sd_notify without a dependency: READY=1, STATUS=..., WATCHDOG=1 over $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket

from cti_daemon import logs

log = logs.get("cti.systemd")


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address: str | None = ("\0" + address[1:]) if address.startswith("@") else (address or None)
        usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_interval_s: float | None = (
            int(usec) / 1e6 / 2 if usec.isascii() and usec.isdigit() and int(usec) > 0 else None
        )

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *lines: str) -> None:
        if self._address is None:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall("\n".join(lines).encode())
        except OSError as exc:
            log.warning("systemd.notify_failed", reason=str(exc))

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")
