"""The configuration of what browsers meet: sessions, the sign-in limits, TLS and trusted proxies.

Kept beside `config.py` (which imports `SessionsConfig` into `Config`) so that file stays small.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SessionsConfig:
    # A session ends after this long without a request, and in any case this long after signing in.
    idle_s: float = 7200.0
    max_s: float = 43200.0
    # Failed sign-ins counted over this window; beyond the limits, 429 with Retry-After.
    signin_window_s: float = 900.0
    signin_limit_per_login: int = 5
    signin_limit_per_address: int = 20


class _Http(Protocol):
    @property
    def tls_cert(self) -> str | None: ...
    @property
    def tls_key(self) -> str | None: ...
    @property
    def trusted_proxies(self) -> list[str]: ...


def validate_web(http: _Http, sessions: SessionsConfig, bad: Callable[[str, str], None]) -> None:
    if (http.tls_cert is None) != (http.tls_key is None):
        bad("http.tls_cert", "tls_cert and tls_key go together: give both or neither")
    for key, path in (("http.tls_cert", http.tls_cert), ("http.tls_key", http.tls_key)):
        if path is not None and not Path(path).is_file():
            bad(key, f"file not found: {path}")
    for entry in http.trusted_proxies:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            bad("http.trusted_proxies", f"{entry!r} is not an IP address or network (10.0.0.5, 10.0.0.0/24)")
    if sessions.idle_s <= 0:
        bad("sessions.idle_s", "must be greater than 0")
    if sessions.max_s < sessions.idle_s:
        bad("sessions.max_s", "must be at least sessions.idle_s")
    if sessions.signin_window_s <= 0:
        bad("sessions.signin_window_s", "must be greater than 0")
    if sessions.signin_limit_per_login < 1:
        bad("sessions.signin_limit_per_login", "must be at least 1")
    if sessions.signin_limit_per_address < 1:
        bad("sessions.signin_limit_per_address", "must be at least 1")
