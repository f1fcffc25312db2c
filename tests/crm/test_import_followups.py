"""`cti-daemon import followups FILE.csv` (issue 14, item 4) on SQLite and PostgreSQL: good rows are
taken, bad ones named by their line; the command's usual exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti_daemon.cli import main as cli_main
from cti_daemon.crm.importing.followups import FollowUpImporter
from cti_daemon.crm.importing.runner import run_import
from cti_daemon.crm.store import open_store
from tests.support.desk import seed_store


async def test_given_a_csv_of_follow_ups_then_good_rows_are_taken_and_bad_ones_named_by_line(
    store_url: str, tmp_path: Path
) -> None:
    await seed_store(store_url)
    path = tmp_path / "followups.csv"
    path.write_text(
        "phone,reason,due_at,customer_id,employee_id,purpose\n"
        "+79161234567,after repair order RO-1234: check satisfaction,2030-01-10T10:00:00Z,c-00001,e-201,\n"
        "+79035550101,service due,2030-01-11T10:00:00+03:00,,,service\n"
        "+79035550102,nobody,2030-01-11T10:00:00Z,,,\n"
        "+79035550103,when,next tuesday,,e-201,\n"
        "+79035550104,who,2030-01-11T10:00:00Z,,e-999,\n",
        encoding="utf-8",
    )
    store = open_store(store_url)
    try:
        report = await run_import(store, FollowUpImporter(), path)
    finally:
        await store.dispose()
    assert [str(r) for r in report.refused] == [
        "line 4: give employee_id or purpose: who makes the call",
        "line 5: due_at 'next tuesday' is not an ISO 8601 date and time",
        "line 6: no employee 'e-999'",
    ]
    assert report.counts == {"follow-ups created": 2}


@pytest.mark.usefixtures("cli_logging")
def test_given_the_command_line_then_followups_import_with_the_usual_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    good = tmp_path / "good.csv"
    good.write_text(
        "phone,reason,due_at,purpose\n+7916,service due,2030-01-10T10:00Z,service\n", encoding="utf-8"
    )
    assert cli_main(["import", "followups", str(good)]) == 0
    assert "1 follow-ups created" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,reason,due_at\n+7916,service due,2030-01-10T10:00Z\n", encoding="utf-8")
    assert cli_main(["import", "followups", str(bad)]) == 1
    assert f"{bad}: line 2: give employee_id or purpose" in capsys.readouterr().err
