"""A durable local spool for journal writes the store could not take (it was down).

One JSON object per line, appended and fsynced before the write is acknowledged, so it survives a crash
or a restart of the daemon. Each record carries its own id (the contact's or the note's UUIDv7), which
makes replaying it idempotent: a record written to the store but not yet removed from the spool (a crash
between the two) is found already there and skipped, never written twice.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cti_daemon import logs

log = logs.get("cti.crm.spool")

Write = Callable[[int, bytes], int]


class SpoolWriteError(OSError):
    """The record could not be kept whole on disk (full, read-only, an I/O error): it is not in the spool,
    and whoever asked must not be told it was accepted."""


class Spool:
    def __init__(self, path: Path, *, write: Write = os.write) -> None:
        """`write` is os.write; a test passes one that writes less than it is given, as a full disk does."""
        self.path = path
        self._write = write
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._cut_torn_tail()

    def append(self, record: dict[str, Any]) -> None:
        """Durably add one record (must have a string "key" that identifies it), whole, or raise
        SpoolWriteError and leave the spool as it was."""
        if not isinstance(record.get("key"), str):
            raise TypeError("a spool record needs a string 'key'")
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise SpoolWriteError(exc.errno, f"spool {self.path}: {exc.strerror}") from exc
        try:
            start = os.fstat(fd).st_size
            try:
                # A full disk (tmpfs measured) answers a short count and no error: write the rest, and
                # the next attempt raises ENOSPC or writes nothing.
                self._write_all(fd, data)
                os.fsync(fd)
            except OSError as exc:
                # Never leave a torn record behind: the next append would be glued onto it, and both lost.
                os.ftruncate(fd, start)
                log.error(  # noqa: TRY400 - the reason is the story, not a traceback
                    "spool.write_failed", path=str(self.path), key=record["key"], reason=exc.strerror
                )
                raise SpoolWriteError(exc.errno, f"spool {self.path}: {exc.strerror}") from exc
        finally:
            os.close(fd)

    def _write_all(self, fd: int, data: bytes) -> None:
        written = 0
        while written < len(data):
            n = self._write(fd, data[written:])
            if n <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written += n

    def _cut_torn_tail(self) -> None:
        """A crash mid-write leaves a last line without its newline: it was never acknowledged. Cut it off
        at start, so the next record starts on a line of its own."""
        try:
            with self.path.open("rb+") as f:
                size = f.seek(0, os.SEEK_END)
                if size == 0:
                    return
                f.seek(size - 1)
                if f.read(1) == b"\n":
                    return
                f.seek(0)
                keep = f.read().rfind(b"\n") + 1
                f.truncate(keep)
                f.flush()
                os.fsync(f.fileno())
        except FileNotFoundError:
            return
        log.warning("spool.torn_tail_cut", path=str(self.path), bytes=size - keep)

    def pending(self) -> list[dict[str, Any]]:
        """Every record not yet removed, in the order written. A torn last line (a crash mid-write) is
        skipped with a log line: it was never acknowledged."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out: list[dict[str, Any]] = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("spool.unreadable_line", path=str(self.path), line=number)
                continue
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                out.append(record)
        return out

    def __len__(self) -> int:
        return len(self.pending())

    def remove(self, keys: Iterable[str]) -> None:
        """Drop written records: rewrite the rest to a temporary file and rename it over the spool, so a
        crash leaves either the old or the new spool, never half of one."""
        done = set(keys)
        if not done:
            return
        rest = [r for r in self.pending() if r["key"] not in done]
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        try:
            with tmp.open("wb") as f:
                for record in rest:
                    f.write(
                        (
                            json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
                        ).encode()
                    )
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk: the spool stays as it was, the replay tries again
            raise
        tmp.replace(self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
