"""Checks of values that parse as their type but would break `run` later: a port out of range in a URL, a
negative keepalive, line breaks in what is written into AMI frames, a host name that does not resolve, a
spool path that is a directory. `config.load` runs them after its own, so `check-config` names each one
(exit 2) and `run` refuses the same file the same way before it starts anything.

Messages never quote a secret's value.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from cti_daemon.config import AmiConfig, Config, HttpConfig, MqttConfig

Bad = Callable[[str, str], None]

MQTT_KEEPALIVE_MAX = 65_535  # the protocol's two-byte field


def check(config: Config, bad: Bad) -> None:
    """Call `bad(key, reason)` for every problem found."""
    _ami(config.ami, bad)
    _mqtt(config.mqtt, bad)
    _http(config.http, bad)
    _spool(config.routing.spool_file, bad)


def _control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _ami(ami: AmiConfig, bad: Bad) -> None:
    if not ami.host.strip() or _control(ami.host) or " " in ami.host.strip():
        bad("ami.host", f"must be a host name or address, not {ami.host!r}")
    # Each of these is written into an AMI frame: a line break would end the frame or start a new header.
    if not ami.username or _control(ami.username):
        bad("ami.username", "must be non-empty, on one line, without control characters")
    if ami.secret is not None and _control(ami.secret.reveal()):
        bad("ami.secret", "must be on one line, without control characters (its value is not shown)")
    if any(not name.strip() or _control(name) or ":" in name for name in ami.event_filter):
        bad("ami.event_filter", "each entry must be an event name: non-empty, one line, without ':'")
    if not ami.connect_timeout_s > 0:
        bad("ami.connect_timeout_s", "must be greater than 0")


def _mqtt(mqtt: MqttConfig, bad: Bad) -> None:
    usage = f"must look like mqtt://host:1883 or mqtts://host:8883, not {_without_password(mqtt.url)!r}"
    try:
        url = urlsplit(mqtt.url)
        port = url.port  # ValueError for a port that is not a number or out of range
    except ValueError as exc:
        bad("mqtt.url", f"{usage} ({exc})")
    else:
        if url.scheme not in {"mqtt", "mqtts"} or not url.hostname:
            bad("mqtt.url", usage)
        elif port == 0:
            bad("mqtt.url", "the port must be 1-65535")
    if not 1 <= mqtt.keepalive_s <= MQTT_KEEPALIVE_MAX:
        bad("mqtt.keepalive_s", f"must be 1 to {MQTT_KEEPALIVE_MAX} seconds, not {mqtt.keepalive_s}")
    if not mqtt.reconnect_max_delay_s > 0:
        bad("mqtt.reconnect_max_delay_s", "must be greater than 0")
    if mqtt.client_id is not None and (not mqtt.client_id or _control(mqtt.client_id)):
        bad("mqtt.client_id", "must be non-empty, without control characters")
    if mqtt.ca_file is not None and not Path(mqtt.ca_file).is_file():
        bad("mqtt.ca_file", f"no such file: {mqtt.ca_file}")


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{host}"


def _http(http: HttpConfig, bad: Bad) -> None:
    host, sep, port = http.listen.rpartition(":")
    if sep and host and port.isascii() and port.isdigit() and int(port) < 65536:
        bare = host.removeprefix("[").removesuffix("]")
        try:
            socket.getaddrinfo(bare, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except (OSError, UnicodeError) as exc:
            bad("http.listen", f"the host {bare!r} does not resolve to an address ({exc})")
    # (a malformed listen value is already named by config.py's own check)
    for key in ("header_timeout_s", "body_timeout_s"):
        if not getattr(http, key) > 0:
            bad(f"http.{key}", "must be greater than 0")


def _spool(spool_file: str, bad: Bad) -> None:
    if spool_file.strip() and Path(spool_file).is_dir():
        bad("routing.spool_file", f"is a directory, not a file: {spool_file}")
