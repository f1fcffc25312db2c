"""The spool survives restarts and torn writes, and forgets only what was written to the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti_daemon.crm.spool import Spool


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
