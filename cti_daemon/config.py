"""Typed configuration: TOML file, then `CTI_<SECTION>__<KEY>` environment overrides, then validation.

Every problem is collected (not just the first) so `check-config` can name them all at once.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cti_daemon import config_checks
from cti_daemon.config_web import SessionsConfig, validate_web
from cti_daemon.secret import Secret
from cti_daemon.store_url import relative_sqlite_path

ENV_PREFIX = "CTI_"


@dataclass(frozen=True, slots=True)
class AmiConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "cti"
    secret: Secret | None = None
    reconnect_max_delay_s: float = 30.0
    ping_interval_s: float = 10.0
    connect_timeout_s: float = 5.0
    # Events the PBX should not send at all (an AMI `Filter: !Event: X` each); dropped on arrival too.
    event_filter: list[str] = field(
        default_factory=lambda: ["VarSet", "Newexten", "RTCPSent", "RTCPReceived", "Cdr", "CEL"]
    )


@dataclass(frozen=True, slots=True)
class MqttConfig:
    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: Secret | None = None
    topic_prefix: str = "cti"
    node_id: str = field(default_factory=socket.gethostname)
    client_id: str | None = None
    ca_file: str | None = None
    keepalive_s: int = 30
    reconnect_max_delay_s: float = 30.0
    outbox_limit: int = 10_000


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    # Four slashes: an absolute path. Three would be relative to the directory a command runs in.
    url: str = "sqlite+aiosqlite:////var/lib/cti-daemon/cti.db"
    # Identification answers are kept this long in the daemon's memory (0 turns the cache off).
    identify_cache_ttl_s: float = 60.0
    identify_cache_max_entries: int = 50_000
    # A ringing call's card read from PostgreSQL waits at most this long; then the pop goes out
    # unidentified, with the reason (SQLite reads are local and not bounded by it).
    lookup_timeout_s: float = 1.0
    # Every other statement, the wait for a pooled connection and the health probe (PostgreSQL): after
    # this the store counts as away (contacts spooled, 503 for reads) instead of hanging on a silent server.
    statement_timeout_s: float = 3.0


@dataclass(frozen=True, slots=True)
class HttpConfig:
    listen: str = "127.0.0.1:8080"
    tokens_file: str | None = None
    max_body_bytes: int = 1_048_576
    tls_cert: str | None = None  # both: serve https directly
    tls_key: str | None = None
    trusted_proxies: list[str] = field(default_factory=list)  # whose X-Forwarded-Proto/-For is believed
    header_timeout_s: float = 10.0  # a request's line and headers, from the connection or its first byte
    body_timeout_s: float = 30.0  # a request's body, from the end of its headers


@dataclass(frozen=True, slots=True)
class PhoneConfig:
    default_region: str = "RU"
    # Dialled international prefixes seen in caller ids besides "+" (RU: 810; most of Europe: 00).
    international_prefix: list[str] = field(default_factory=lambda: ["00", "810"])
    # Numbers with at most this many digits are internal extensions, never customers.
    internal_max_digits: int = 5


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    reception_extensions: list[str] = field(default_factory=lambda: ["100"])
    queue_reminder_s: int = 300
    # How often the store is asked for postponements and follow-ups come due (each is sent once, by the
    # first node to claim it).
    due_check_s: float = 5.0
    # Attempts (no answer, busy) after which a follow-up call ends unreachable.
    followup_max_attempts: int = 3
    attended_transfer_context: str = "internal"
    # Presence statuses agents may choose besides available, busy and away.
    custom_statuses: list[str] = field(default_factory=list)
    # Journal writes taken while the store is away wait here (fsynced) until it is back.
    spool_file: str = "/var/lib/cti-daemon/journal-spool.jsonl"
    # A transfer or click to dial is answered once the PBX reports the target ringing, waiting at most this.
    transfer_confirm_s: float = 8.0


@dataclass(frozen=True, slots=True)
class JournalConfig:
    # Closed contacts older than this many days are deleted (with their notes and events) daily; 0: kept.
    retention_days: int = 0


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = "info"
    format: str = "auto"  # auto: console on a tty, JSON lines otherwise; or "json", "console"


@dataclass(frozen=True, slots=True)
class Config:
    ami: AmiConfig = field(default_factory=AmiConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    phone: PhoneConfig = field(default_factory=PhoneConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    sessions: SessionsConfig = field(default_factory=SessionsConfig)

    def secrets(self) -> list[Secret]:
        return [s for s in (self.ami.secret, self.mqtt.password) if s is not None]


@dataclass(frozen=True, slots=True)
class Problem:
    source: str  # the file, or "environment"
    key: str  # "ami.secret"
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.reason}"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` says why, one entry per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _section_types() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, cls in typing.get_type_hints(Config).items():
        out[name] = typing.get_type_hints(cls)
    return out


_LOG_LEVELS = {"debug", "info", "warning", "error"}
_LOG_FORMATS = {"auto", "json", "console"}


def load(
    path: Path | None,
    env: Mapping[str, str] | None = None,
    *,
    require_secret: bool = True,
) -> Config:
    """Read, override and validate. Raises ConfigError listing every problem."""
    source = str(path) if path is not None else "defaults"
    raw = _read(path) if path is not None else {}
    types_by_section = _section_types()
    values: dict[str, dict[str, Any]] = {name: {} for name in types_by_section}
    problems = _apply_file(raw, source, types_by_section, values)
    problems += _apply_env(os.environ if env is None else env, types_by_section, values)
    sections = {name: cls(**values[name]) for name, cls in typing.get_type_hints(Config).items()}
    config = Config(**sections)
    problems.extend(_validate(config, source, require_secret=require_secret))
    if problems:
        raise ConfigError(problems)
    return config


def _read(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([Problem(source, "-", "file not found")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(source, "-", f"not valid TOML: {exc}")]) from None
    except RecursionError:
        raise ConfigError([Problem(source, "-", "not valid TOML: nested too deeply")]) from None
    except OSError as exc:
        raise ConfigError([Problem(source, "-", f"cannot read: {exc.strerror}")]) from None


def _apply_file(
    raw: dict[str, Any],
    source: str,
    hints_by_section: dict[str, dict[str, Any]],
    values: dict[str, dict[str, Any]],
) -> list[Problem]:
    problems: list[Problem] = []
    for section, body in raw.items():
        if section not in hints_by_section:
            problems.append(
                Problem(source, section, f"unknown section (known: {', '.join(hints_by_section)})")
            )
            continue
        if not isinstance(body, dict):
            problems.append(Problem(source, section, "must be a table ([section])"))
            continue
        hints = hints_by_section[section]
        for key, value in body.items():
            if key not in hints:
                problems.append(Problem(source, f"{section}.{key}", "unknown key"))
                continue
            converted = _coerce(value, hints[key], from_env=False)
            if isinstance(converted, _Bad):
                problems.append(Problem(source, f"{section}.{key}", converted.reason))
            else:
                values[section][key] = converted
    return problems


def _apply_env(
    env: Mapping[str, str], hints_by_section: dict[str, dict[str, Any]], values: dict[str, dict[str, Any]]
) -> list[Problem]:
    problems: list[Problem] = []
    for name, text in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section not in hints_by_section:
            continue  # other CTI_* variables (e.g. CTI_TEST_POSTGRES_URL) are not ours
        hints = hints_by_section[section]
        if key not in hints:
            problems.append(Problem("environment", name, "unknown key"))
            continue
        converted = _coerce(text, hints[key], from_env=True)
        if isinstance(converted, _Bad):
            problems.append(Problem("environment", name, converted.reason))
        else:
            values[section][key] = converted
    return problems


@dataclass(frozen=True, slots=True)
class _Bad:
    reason: str


def _coerce(value: Any, hint: Any, *, from_env: bool) -> Any:
    """Convert a TOML (or environment text) value to the declared type, or say why not."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if from_env and value == "":
            return None
        return _coerce(value, non_none[0], from_env=from_env)
    if hint is Secret:
        if isinstance(value, str) and value:
            return Secret(value)
        return _Bad("must be a non-empty string")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if from_env and isinstance(value, str) and value.lower() in {"1", "true", "yes", "0", "false", "no"}:
            return value.lower() in {"1", "true", "yes"}
        return _Bad(f"must be true or false, not {_describe(value)}")
    if hint is int:
        if isinstance(value, bool):
            return _Bad(f"must be an integer, not {_describe(value)}")
        if isinstance(value, int):
            return value
        if from_env and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        return _Bad(f"must be an integer, not {_describe(value)}")
    if hint is float:
        if isinstance(value, bool):
            return _Bad(f"must be a number, not {_describe(value)}")
        if isinstance(value, int | float):
            return float(value)
        if from_env and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        return _Bad(f"must be a number, not {_describe(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        return _Bad(f"must be a string, not {_describe(value)}")
    if typing.get_origin(hint) is list:
        if from_env and isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        return _Bad(f"must be a list of strings, not {_describe(value)}")
    raise TypeError(f"no conversion for {hint!r}")  # a programming error in the dataclasses above


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _validate(config: Config, source: str, *, require_secret: bool) -> list[Problem]:
    out: list[Problem] = []

    def bad(key: str, reason: str) -> None:
        out.append(Problem(source, key, reason))

    if require_secret and config.ami.secret is None:
        bad("ami.secret", "missing: the AMI user's secret is required (or set CTI_AMI__SECRET)")
    if not 0 < config.ami.port < 65536:
        bad("ami.port", f"must be a TCP port (1-65535), not {config.ami.port}")
    if config.ami.reconnect_max_delay_s <= 0:
        bad("ami.reconnect_max_delay_s", "must be greater than 0")
    if config.ami.ping_interval_s <= 0:
        bad("ami.ping_interval_s", "must be greater than 0")
    prefix = config.mqtt.topic_prefix
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or "#" in prefix or "+" in prefix:
        bad("mqtt.topic_prefix", "must be non-empty, without wildcards and without a leading or trailing '/'")
    if not config.mqtt.node_id or any(c in config.mqtt.node_id for c in "/#+"):
        bad("mqtt.node_id", "must be non-empty and contain no '/', '#' or '+'")
    if config.mqtt.outbox_limit < 1:
        bad("mqtt.outbox_limit", "must be at least 1")
    if not (config.database.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://"))):
        bad("database.url", "must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    elif relative := relative_sqlite_path(config.database.url):
        bad(
            "database.url",
            f"the SQLite path {relative!r} is relative (three slashes): each command would open a different "
            f"file depending on the directory it runs in; use four slashes for an absolute path, e.g. "
            f"sqlite+aiosqlite:////var/lib/cti-daemon/cti.db",
        )
    if config.database.identify_cache_ttl_s < 0:
        bad("database.identify_cache_ttl_s", "must be 0 (no cache) or more seconds")
    if config.database.identify_cache_max_entries < 1:
        bad("database.identify_cache_max_entries", "must be at least 1")
    if not 0 < config.database.lookup_timeout_s <= 30:
        bad("database.lookup_timeout_s", "must be more than 0 and at most 30 seconds")
    if not 0 < config.database.statement_timeout_s <= 60:
        bad("database.statement_timeout_s", "must be more than 0 and at most 60 seconds")
    host, sep, port = config.http.listen.rpartition(":")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 <= int(port) < 65536:
        bad("http.listen", f"must be host:port, not {config.http.listen!r}")
    if config.http.tokens_file is not None:
        bad_tokens = _check_tokens_file(config.http.tokens_file)
        if bad_tokens:
            bad("http.tokens_file", bad_tokens)
    if config.http.max_body_bytes < 1024:
        bad("http.max_body_bytes", "must be at least 1024")
    validate_web(config.http, config.sessions, bad)
    out.extend(_validate_phone(config, source))
    if config.journal.retention_days < 0:
        bad("journal.retention_days", "must be 0 (keep every contact) or a number of days")
    if config.logging.level not in _LOG_LEVELS:
        bad("logging.level", f"must be one of {', '.join(sorted(_LOG_LEVELS))}")
    if config.logging.format not in _LOG_FORMATS:
        bad("logging.format", f"must be one of {', '.join(sorted(_LOG_FORMATS))}")
    config_checks.check(config, bad)  # what parses but would break `run` (mqtt.url is checked there)
    return out


def _validate_phone(config: Config, source: str) -> list[Problem]:
    out: list[Problem] = []

    def bad(key: str, reason: str) -> None:
        out.append(Problem(source, key, reason))

    if len(config.phone.default_region) != 2 or not config.phone.default_region.isalpha():
        bad(
            "phone.default_region",
            f"must be a two-letter region code like RU or GB, not {config.phone.default_region!r}",
        )
    if not 2 <= config.phone.internal_max_digits <= 8:
        bad("phone.internal_max_digits", "must be between 2 and 8")
    if any(not (p.isascii() and p.isdigit()) for p in config.phone.international_prefix):
        bad("phone.international_prefix", "each prefix must be digits only")
    _validate_routing(config.routing, bad)
    return out


def _validate_routing(routing: RoutingConfig, bad: Callable[[str, str], None]) -> None:
    if not routing.reception_extensions:
        bad("routing.reception_extensions", "must list at least one extension")
    if not 1 <= routing.followup_max_attempts <= 100:
        bad("routing.followup_max_attempts", "must be from 1 to 100")
    if not 0 < routing.due_check_s <= 3600:
        bad("routing.due_check_s", "must be more than 0 and at most 3600 seconds")
    if routing.queue_reminder_s < 1:
        bad("routing.queue_reminder_s", "must be at least 1 second")
    if not 0 < routing.transfer_confirm_s <= 120:
        bad("routing.transfer_confirm_s", "must be more than 0 and at most 120 seconds")
    if any(
        not s.strip() or len(s) > 32 or s in ("available", "busy", "away") for s in routing.custom_statuses
    ):
        bad("routing.custom_statuses", "each must be 1 to 32 characters and not a built-in status")
    if not routing.spool_file.strip():
        bad("routing.spool_file", "must be a file path (in a directory the daemon may write)")


def _check_tokens_file(path: str) -> str | None:
    from cti_daemon.api.auth import TokenFileError, parse_tokens  # noqa: PLC0415 - the API's own format

    try:
        parse_tokens(Path(path).read_text(encoding="utf-8"), path)
    except FileNotFoundError:
        return f"file not found: {path}"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read {path}: {exc}"
    except TokenFileError as exc:
        return "; ".join(exc.problems)
    return None


def with_overrides(config: Config, **sections: Mapping[str, Any]) -> Config:
    """A copy with some keys replaced, e.g. with_overrides(cfg, ami={"port": 15038}); for demo and tests."""
    changes = {
        name: dataclasses.replace(getattr(config, name), **values) for name, values in sections.items()
    }
    return dataclasses.replace(config, **changes)
