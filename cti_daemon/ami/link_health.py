"""When the AMI link tries again (`backoff_delay`); why it is not usable now, in words an operator acts on,
and when it last failed.

A wrong secret, a PBX that refuses connections, one still booting and one that stopped answering all
leave the daemon without AMI, and each wants a different fix (the secret, the PBX or the network, just
waiting, the PBX's health). /healthz, the daemon's MQTT status and a metric label carry the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cti_daemon.ami.errors import AmiAuthError, AmiPeerSilentError, AmiTimeoutError


class DownReason(StrEnum):
    AUTH_FAILED = "auth_failed"  # Asterisk answered the login with a refusal: user, secret, permit/deny
    UNREACHABLE = "unreachable"  # no TCP connection (refused, no route, name unknown) or the peer closed it
    BOOTING = "booting"  # logged in, but Asterisk has not said FullyBooted: its lists are not answered yet
    SILENT = "silent"  # connected, but no greeting, no answer to the login, or pings unanswered


@dataclass(frozen=True, slots=True)
class LinkHealth:
    up: bool  # logged in and Asterisk fully booted
    reason: DownReason | None  # None while up
    last_error: str | None  # what went wrong last (never the secret), kept after recovery
    last_error_at: datetime | None


def reason_of(exc: BaseException) -> DownReason:
    """The reason a session attempt (or a session) ended with this exception."""
    if isinstance(exc, AmiAuthError) and exc.refused:
        return DownReason.AUTH_FAILED
    if isinstance(exc, AmiTimeoutError | AmiPeerSilentError):
        return DownReason.SILENT
    return DownReason.UNREACHABLE  # OSError, a connect time-out, a connection the peer closed


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
