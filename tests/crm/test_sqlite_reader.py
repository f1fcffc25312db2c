"""The ring path's SQLite reads: inline while the store answers fast, through a thread while it is slow."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from cti_daemon.crm.sqlite_reader import SqliteReader


def _db(tmp_path: Path) -> str:
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (7)")
    return str(path)


def _where(conn: sqlite3.Connection) -> str:
    return threading.current_thread().name


async def test_given_fast_reads_then_they_run_on_the_loops_own_thread(tmp_path: Path) -> None:
    reader = SqliteReader(_db(tmp_path))
    try:
        assert await reader.run(lambda c: c.execute("SELECT x FROM t").fetchone()[0]) == 7
        assert await reader.run(_where) == threading.current_thread().name
        assert (reader.inline_reads, reader.threaded_reads) == (2, 0)
    finally:
        await reader.close()


async def test_given_several_slow_reads_in_a_short_while_then_reads_move_to_a_thread_for_a_while(
    tmp_path: Path,
) -> None:
    reader = SqliteReader(_db(tmp_path), slow_ms=2.0, slow_count=3, window_s=10.0, cooldown_s=0.3)

    def slow(conn: sqlite3.Connection) -> int:
        time.sleep(0.005)  # a disk stall, as the reader sees it
        return 1

    try:
        await reader.run(slow)
        await reader.run(slow)
        assert await reader.run(_where) == threading.current_thread().name  # two slow reads: still inline
        await reader.run(slow)  # the third within the window
        assert (await reader.run(_where)).startswith("cti-sqlite-read")
        assert reader.threaded_reads == 1
        time.sleep(0.35)  # the cool-down is over: inline again
        assert await reader.run(_where) == threading.current_thread().name
    finally:
        await reader.close()


async def test_given_reads_moved_to_the_thread_then_run_now_declines_and_run_still_answers(
    tmp_path: Path,
) -> None:
    reader = SqliteReader(_db(tmp_path), slow_ms=1.0, slow_count=1, window_s=10.0, cooldown_s=30.0)

    def slow(conn: sqlite3.Connection) -> int:
        time.sleep(0.003)
        return 1

    try:
        assert reader.run_now(slow) == (1,)  # inline, and slow: reads move to the thread
        assert reader.run_now(_where) is None
        assert (await reader.run(_where)).startswith("cti-sqlite-read")
    finally:
        await reader.close()
