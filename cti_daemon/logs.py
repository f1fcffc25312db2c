"""Logging: structlog events with fields; JSON lines off a tty, a readable console on one.

Secrets never reach a log line: every event (ours and those of libraries through the stdlib bridge) passes
a redactor that knows the configured secrets and the shapes secrets take on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, Protocol

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "***"

# Wire shapes that carry secrets even when we do not know the value: an AMI Login's "Secret: x" header,
# "password=x" in URLs or key=value dumps, user:pass@ in URLs, a bearer token.
_SHAPES = re.compile(
    r"(?P<k>(?i:secret|password|passwd|token)\s*[:=]\s*['\"]?)[^\s'\",;}\\]+"
    r"|(?P<u>://[^/:@\s]+:)[^@\s/]+(?=@)"
    r"|(?P<b>(?i:bearer)\s+)[A-Za-z0-9._~+/=-]+"
)


def _mask(match: re.Match[str]) -> str:
    lead = match.group("k") or match.group("u") or match.group("b") or ""
    return f"{lead}{REDACTED}"


class Redactor:
    """Removes known secret values and secret-shaped substrings from every string in an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str) -> None:
        # Very short values would blank out ordinary words; the shape patterns still catch them.
        if len(secret) >= 4:
            self._secrets.add(secret)

    def clean(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return _SHAPES.sub(_mask, text)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.clean(value)
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        if isinstance(value, BaseException):
            return self.clean(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        for key, value in list(event.items()):
            if key == "exc_info" and value:
                continue
            event[key] = self._walk(value)
        return event


class _CleanExceptions:
    """Runs after exceptions are rendered into text so tracebacks are redacted too."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        for key in ("exception", "stack"):
            if isinstance(event.get(key), str):
                event[key] = self._redactor.clean(event[key])
        return event


class LogStream(Protocol):
    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...
    def isatty(self) -> bool: ...


def configure(
    *,
    level: str = "info",
    fmt: str = "auto",
    secrets: Iterable[str] = (),
    stream: LogStream | None = None,
) -> Redactor:
    """Configure structlog and the stdlib bridge once per process (the CLI's edge)."""
    out = stream if stream is not None else sys.stderr
    redactor = Redactor(secrets)
    json_lines = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redactor,
    ]
    renderer: Processor
    if json_lines:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
        tail: list[Processor] = [structlog.processors.format_exc_info, _CleanExceptions(redactor)]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        tail = [_CleanExceptions(redactor)]

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = getattr(logging, level.upper(), logging.INFO)
    root.setLevel(numeric)
    # SQLAlchemy's pool logs a traceback when a task cancelled at shutdown returns its connection in
    # the middle of the rollback (CancelledError); the task was stopped on purpose, nothing is lost.
    handler.addFilter(_not_a_cancelled_checkin)
    # Libraries chatter at INFO about every reconnect; we log those events ourselves, with fields.
    for noisy in ("panoramisk", "amqtt", "transitions", "aiohttp.access", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    return redactor


def _not_a_cancelled_checkin(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return not (record.name.startswith("sqlalchemy.pool") and isinstance(exc, asyncio.CancelledError))


def get(name: str, **bound: Any) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger.bind(**bound) if bound else logger
