"""The import loop shared by customers, documents and employees: records in batches, each batch in one
transaction, refused rows collected with their lines, a progress bar on a terminal."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from cti_daemon import logs
from cti_daemon.crm.importing.csv_source import CsvSource, ImportFileError, Record, Refused
from cti_daemon.crm.store import Store

log = logs.get("cti.crm.import")

Parsed = TypeVar("Parsed")


class Importer(Protocol[Parsed]):
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    counts: Counter[str]

    def parse(self, record: Record) -> Parsed | Refused: ...

    async def apply(self, session: AsyncSession, batch: list[Parsed]) -> tuple[list[Refused], set[str]]:
        """Write one batch; returns rows refused for what only the store knows, and the keys it changed
        (customer ids and E.164 numbers, for the identification cache)."""
        ...


@dataclass
class ImportReport:
    kind: str
    path: str
    encoding: str = ""
    rows: int = 0
    taken: int = 0
    refused: list[Refused] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    absent_columns: tuple[str, ...] = ()
    fatal: str | None = None  # the import stopped here; batches before it are in the store
    seconds: float = 0.0

    def summary(self) -> str:
        done = ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items()))
        return (
            f"import {self.kind}: {self.rows} rows, {self.taken} taken, {len(self.refused)} refused"
            + (f" ({done})" if done else "")
            + f" in {self.seconds:.1f} s"
        )


class Progress:
    """`[#####.....]  45%  45,000 rows` on stderr, redrawn at most ten times a second; nothing off a tty."""

    def __init__(self, stream: TextIO, total_bytes: int, label: str) -> None:
        self._stream = stream
        self._total = max(total_bytes, 1)
        self._label = label
        self._last = 0.0
        self.enabled = stream.isatty()

    def update(self, done_bytes: int, rows: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.1):
            return
        self._last = now
        share = min(done_bytes / self._total, 1.0)
        bar = "#" * int(share * 30)
        self._stream.write(f"\r{self._label} [{bar:<30}] {share:4.0%}  {rows:,} rows")
        self._stream.flush()

    def finish(self, done_bytes: int, rows: int) -> None:
        if self.enabled:
            self.update(done_bytes, rows, force=True)
            self._stream.write("\n")
            self._stream.flush()


async def run_import(
    store: Store,
    importer: Importer[Parsed],
    path: Path,
    *,
    encoding: str = "auto",
    batch_size: int = 2000,
    progress: TextIO | None = None,
    on_written: Callable[[Iterable[str]], None] | None = None,
) -> ImportReport:
    """Raises ImportFileError before anything is written (unreadable file, header without a needed
    column); a problem later in the file (bad encoding) ends the import with `fatal` set."""
    started = time.monotonic()
    report = ImportReport(importer.kind, str(path))
    source = CsvSource(path, encoding=encoding, required=importer.required, optional=importer.optional)
    report.encoding = source.encoding
    report.absent_columns = source.absent
    bar = Progress(progress, source.size, f"import {importer.kind}") if progress is not None else None
    batch: list[Parsed] = []
    batch_lines: list[int] = []

    async def flush() -> None:
        if not batch:
            return
        async with store.session() as session, session.begin():
            refused, changed = await importer.apply(session, batch)
        report.refused.extend(refused)
        report.taken += len(batch) - len(refused)
        if on_written is not None and changed:
            on_written(changed)
        batch.clear()
        batch_lines.clear()

    try:
        for item in source.records():
            report.rows += 1
            if isinstance(item, Refused):
                report.refused.append(item)
            else:
                parsed = importer.parse(item)
                if isinstance(parsed, Refused):
                    report.refused.append(parsed)
                else:
                    batch.append(parsed)
                    batch_lines.append(item.line)
            if len(batch) >= batch_size:
                await flush()
            if bar is not None:
                bar.update(source.bytes_read, report.rows)
        await flush()
    except ImportFileError as exc:
        report.fatal = str(exc)
    except DBAPIError as exc:
        # A batch the database refused as a whole: none of it is written; earlier batches are.
        first, last = (batch_lines[0], batch_lines[-1]) if batch_lines else (0, 0)
        report.fatal = (
            f"lines {first}-{last}: the database refused the batch ({str(exc.orig).splitlines()[0]})"
        )
    finally:
        source.close()
        if bar is not None:
            bar.finish(source.bytes_read, report.rows)
    report.refused.sort(key=lambda r: r.line)
    report.counts.update(+importer.counts)  # unary plus: without the zero counts
    report.seconds = time.monotonic() - started
    log.info(
        "import.done",
        kind=importer.kind,
        rows=report.rows,
        taken=report.taken,
        refused=len(report.refused),
        fatal=report.fatal,
        seconds=round(report.seconds, 2),
    )
    return report


__all__ = ["ImportFileError", "ImportReport", "Importer", "Progress", "run_import"]
