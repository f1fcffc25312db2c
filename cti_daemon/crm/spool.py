"""A durable local spool for journal writes the store could not take (it was down).

One JSON object per line, appended and fsynced before the write is acknowledged, so it survives a crash
or a restart of the daemon. Each record carries its own id (the contact's or the note's UUIDv7), which
makes replaying it idempotent: a record written to the store but not yet removed from the spool (a crash
between the two) is found already there and skipped, never written twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cti_daemon import logs

log = logs.get("cti.crm.spool")


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        """Durably add one record (must have a string "key" that identifies it)."""
        if not isinstance(record.get("key"), str):
            raise TypeError("a spool record needs a string 'key'")
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

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
        with tmp.open("wb") as f:
            for record in rest:
                f.write(
                    (
                        json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
                    ).encode()
                )
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
