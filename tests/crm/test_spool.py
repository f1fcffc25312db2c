"""The spool survives restarts and torn writes, and forgets only what was written to the store."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cti_daemon.crm.spool import Spool, SpoolWriteError
from tests.support.tmpfs import fill, small_tmpfs


def test_given_records_when_the_spool_is_reopened_then_they_are_all_there_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool" / "journal.jsonl")
    spool.append({"key": "a", "op": "contact", "name": "Иван"})
    spool.append({"key": "b", "op": "note"})
    again = Spool(tmp_path / "spool" / "journal.jsonl")
    assert [r["key"] for r in again.pending()] == ["a", "b"]
    assert again.pending()[0]["name"] == "Иван"


def test_given_some_records_written_then_only_those_are_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "journal.jsonl")
    for key in "abc":
        spool.append({"key": key})
    spool.remove(["a", "c"])
    assert [r["key"] for r in spool.pending()] == ["b"]
    assert not (tmp_path / "journal.jsonl.tmp").exists()


def test_given_a_torn_last_line_then_it_is_skipped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    spool = Spool(path)
    spool.append({"key": "a"})
    with path.open("ab") as f:
        f.write(b'{"key": "b", "op": "cont')  # the daemon died mid-write: never acknowledged
    assert [r["key"] for r in Spool(path).pending()] == ["a"]


def test_a_record_without_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="key"):
        Spool(tmp_path / "s.jsonl").append({"op": "contact"})


class _ShortDisk:
    """os.write as a full tmpfs answers it: part of what it is given, no error; then nothing at all."""

    def __init__(self) -> None:
        self.full = False

    def __call__(self, fd: int, data: bytes) -> int:
        if not self.full:
            return os.write(fd, data)
        if len(data) > 64:
            return os.write(fd, data[:64])  # the first short write, as measured: no error
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_given_a_short_write_when_appending_then_it_fails_and_the_next_record_after_space_returns_is_whole(
    tmp_path: Path,
) -> None:
    disk = _ShortDisk()
    path = tmp_path / "journal.jsonl"
    spool = Spool(path, write=disk)
    spool.append({"key": "a", "text": "x" * 200})
    before = path.read_bytes()
    disk.full = True
    with pytest.raises(SpoolWriteError):
        spool.append({"key": "b", "text": "y" * 200})
    assert path.read_bytes() == before  # nothing torn left behind
    disk.full = False
    spool.append({"key": "c", "text": "z" * 200})
    assert [r["key"] for r in Spool(path).pending()] == ["a", "c"]


def test_given_a_torn_tail_when_the_spool_opens_then_it_is_cut_and_the_next_record_stands_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.jsonl"
    Spool(path).append({"key": "a"})
    with path.open("ab") as f:
        f.write(b'{"key": "b", "op": "cont')  # a crash or a full disk mid-write: never acknowledged
    reopened = Spool(path)
    reopened.append({"key": "c"})
    assert [r["key"] for r in reopened.pending()] == ["a", "c"]
    assert path.read_bytes().endswith(b'{"key":"c"}\n')


def test_given_a_full_tmpfs_when_appending_then_it_fails_whole_and_works_again_once_freed(
    tmp_path: Path,
) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        spool = Spool(disk / "journal.jsonl")
        spool.append({"key": "a"})
        filler = fill(disk)
        for key in ("b", "c"):
            with pytest.raises(SpoolWriteError):
                spool.append({"key": key, "text": "x" * 10_000})
        filler.unlink()
        spool.append({"key": "d", "text": "x" * 10_000})
        assert [r["key"] for r in Spool(disk / "journal.jsonl").pending()] == ["a", "d"]
