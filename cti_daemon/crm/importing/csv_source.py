"""Reading an import CSV safely: the encoding (UTF-8, with or without BOM, or Windows-1251), the header,
and records with the line they start on. A line longer than the limit is refused on its own (its bytes are
skipped, never held); bytes the encoding cannot read stop the import with the line named.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_LINE_BYTES = 1 << 20  # 1 MiB: far beyond any honest CSV row
_SNIFF_BYTES = 1 << 20
ENCODINGS = {"auto", "utf-8", "utf-8-sig", "cp1251"}


class ImportFileError(Exception):
    """The file cannot be imported (unreadable, wrong encoding, header without a needed column)."""


@dataclass(frozen=True, slots=True)
class Record:
    line: int  # the physical line the record starts on (the header is line 1)
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class Refused:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class _LineTooLongError(Exception):
    def __init__(self, line: int, size: int) -> None:
        super().__init__(line, size)
        self.line = line
        self.size = size


def detect_encoding(head: bytes) -> str:
    """UTF-8 (BOM or not) when the first MiB reads as UTF-8, else Windows-1251 (what Russian Excel saves)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


class _Lines:
    """Physical lines, decoded, bounded in size. An iterator class (not a generator) so that it keeps
    going after it raises for one line."""

    def __init__(self, raw: BinaryIO, encoding: str, max_line_bytes: int) -> None:
        self._raw = raw
        self._encoding = encoding
        self.max_bytes = max_line_bytes
        self.line = 0  # physical lines consumed so far
        self.bytes_read = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        chunk = self._raw.readline(self.max_bytes + 1)
        if not chunk:
            raise StopIteration
        self.line += 1
        self.bytes_read += len(chunk)
        if len(chunk) > self.max_bytes and not chunk.endswith(b"\n"):
            size = len(chunk)
            while chunk and not chunk.endswith(b"\n"):  # skip the rest of this line, a piece at a time
                chunk = self._raw.readline(self.max_bytes)
                size += len(chunk)
                self.bytes_read += len(chunk)
            raise _LineTooLongError(self.line, size)
        try:
            return chunk.decode(self._encoding)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"line {self.line}: byte {chunk[exc.start]:#04x} at column {exc.start + 1} is not "
                f"{self._encoding}; give the file's encoding with --encoding (utf-8 or cp1251)"
            ) from None


class CsvSource:
    def __init__(
        self,
        path: Path,
        *,
        encoding: str = "auto",
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        if encoding not in ENCODINGS:
            raise ImportFileError(
                f"unknown encoding {encoding!r} (use one of {', '.join(sorted(ENCODINGS))})"
            )
        try:
            self._raw: BinaryIO = path.open("rb")
            self.size = path.stat().st_size
        except OSError as exc:
            raise ImportFileError(f"{path}: {exc.strerror or exc}") from None
        if encoding == "auto":
            encoding = detect_encoding(self._raw.read(_SNIFF_BYTES))
            self._raw.seek(0)
        elif encoding == "utf-8" and self._raw.read(3) == codecs.BOM_UTF8:
            encoding = "utf-8-sig"
        self._raw.seek(0)
        self.encoding = encoding
        self._lines = _Lines(self._raw, "utf-8" if encoding == "utf-8-sig" else encoding, max_line_bytes)
        if encoding == "utf-8-sig":
            self._raw.read(3)
        csv.field_size_limit(max_line_bytes)
        self._reader = csv.reader(self._lines)
        try:
            self.header = self._read_header(required)
        except BaseException:
            self._raw.close()
            raise
        self.absent = tuple(c for c in optional if c not in self.header)

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read

    def close(self) -> None:
        self._raw.close()

    def _read_header(self, required: tuple[str, ...]) -> list[str]:
        try:
            first = next(self._reader)
        except StopIteration:
            raise ImportFileError("the file is empty: line 1 must be the header") from None
        except _LineTooLongError:
            raise ImportFileError(
                f"line 1: the header is longer than {self._lines.max_bytes} bytes"
            ) from None
        except csv.Error as exc:
            raise ImportFileError(f"line 1: the header is not CSV ({exc})") from None
        header = [name.strip().lower() for name in first]
        missing = [c for c in required if c not in header]
        if missing:
            raise ImportFileError(
                f"line 1: the header has no column {', '.join(missing)} "
                f"(it has: {', '.join(h for h in header if h) or 'nothing'})"
            )
        return header

    def records(self) -> Iterator[Record | Refused]:
        width = len(self.header)
        while True:
            start = self._lines.line + 1
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except _LineTooLongError as exc:
                yield Refused(exc.line, f"line longer than {self._lines.max_bytes} bytes ({exc.size} bytes)")
                continue
            except csv.Error as exc:
                yield Refused(start, f"not valid CSV ({exc})")
                continue
            if not fields or all(not f.strip() for f in fields):
                continue  # blank lines are not rows
            if len(fields) < width:
                yield Refused(start, f"{len(fields)} fields where the header has {width}")
                continue
            if any(f.strip() for f in fields[width:]):
                yield Refused(start, f"{len(fields)} fields where the header has {width}")
                continue
            nul = next((name for name, f in zip(self.header, fields, strict=False) if "\x00" in f), None)
            if nul is not None:
                # PostgreSQL stores no NUL in text: the whole batch around this row would be refused.
                yield Refused(start, f"{nul} contains a NUL character")
                continue
            yield Record(
                start, {name: value.strip() for name, value in zip(self.header, fields, strict=False)}
            )
