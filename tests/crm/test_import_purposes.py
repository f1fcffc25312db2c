"""`import purposes`: the second level of contact purposes from a CSV file, on SQLite and PostgreSQL. The
file is the truth for each purpose it lists; the catalog reception picks from follows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti_daemon.cli import main as cli_main
from cti_daemon.crm.importing.purposes import PurposeImporter
from cti_daemon.crm.importing.runner import run_import
from cti_daemon.crm.purposes import load_catalog
from cti_daemon.crm.store import Store

HEAD = "purpose,code,name,position,active\n"


def _write(path: Path, body: str) -> Path:
    path.write_text(HEAD + body, encoding="utf-8")
    return path


async def _levels(store: Store) -> dict[str, list[tuple[str, str]]]:
    catalog = await load_catalog(store)
    return {code: [(s.code, s.name) for s in p.subs] for code, p in catalog.purposes.items() if p.subs}


async def test_given_sub_purposes_then_the_catalog_offers_them_in_file_order_and_bad_rows_are_named(
    store: Store, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "p.csv",
        "service,maintenance,Плановое ТО,,\n"
        "service,warranty,Warranty repair,,\n"
        "Service,diagnostics,Diagnostics,,yes\n"
        "showroom,test_drive,Test drive,,\n"
        "karaoke,x,X,,\n"
        "service,bad code,Bad,,\n"
        "service,warranty,Twice,,\n"
        "shop,parts,Parts order,,maybe\n"
        "shop,,Nameless code,,\n",
    )
    report = await run_import(store, PurposeImporter(), path)
    assert [str(r) for r in report.refused] == [
        "line 6: purpose 'karaoke' is not configured (known: feedback, other, service, shop, showroom)",
        "line 7: code 'bad code' must be 1 to 48 letters, digits or _.- (no spaces)",
        "line 8: service 'warranty' is already on line 3",
        "line 9: active 'maybe' must be yes or no",
        "line 10: code '' must be 1 to 48 letters, digits or _.- (no spaces)",
    ]
    assert report.counts == {"sub-purposes created": 4}
    assert await _levels(store) == {
        "service": [
            ("maintenance", "Плановое ТО"),
            ("warranty", "Warranty repair"),
            ("diagnostics", "Diagnostics"),
        ],
        "showroom": [("test_drive", "Test drive")],
    }


async def test_given_a_later_file_then_what_it_leaves_out_is_withdrawn_and_comes_back_when_listed_again(
    store: Store, tmp_path: Path
) -> None:
    first = (
        "service,maintenance,Maintenance,,\nservice,warranty,Warranty,,\nshowroom,test_drive,Test drive,,\n"
    )
    await run_import(store, PurposeImporter(), _write(tmp_path / "p.csv", first))

    second = _write(tmp_path / "p.csv", "service,warranty,Warranty repair,1,\nservice,recall,Recall,2,no\n")
    report = await run_import(store, PurposeImporter(), second)
    assert report.counts == {
        "sub-purposes created": 1,
        "sub-purposes updated": 1,
        "sub-purposes deactivated": 1,
    }
    # maintenance left out, recall inactive from the start; showroom not in the file: kept as it was
    assert await _levels(store) == {
        "service": [("warranty", "Warranty repair")],
        "showroom": [("test_drive", "Test drive")],
    }

    again = await run_import(store, PurposeImporter(), second)
    assert again.counts == {"sub-purposes unchanged": 2}

    back = _write(
        tmp_path / "p.csv", "service,maintenance,Maintenance,0,\nservice,warranty,Warranty repair,1,\n"
    )
    await run_import(store, PurposeImporter(), back)
    assert await _levels(store) == {
        "service": [("maintenance", "Maintenance"), ("warranty", "Warranty repair")],
        "showroom": [("test_drive", "Test drive")],
    }


@pytest.mark.usefixtures("cli_logging")
def test_given_the_command_line_then_purposes_import_with_the_usual_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CTI_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    good = _write(tmp_path / "good.csv", "service,warranty,Warranty repair,,\n")
    assert cli_main(["import", "purposes", str(good)]) == 0
    assert "import purposes: 1 rows, 1 taken, 0 refused (1 sub-purposes created)" in capsys.readouterr().out
    bad = _write(tmp_path / "bad.csv", "service,warranty,Warranty repair,,\nnowhere,x,X,,\n")
    assert cli_main(["import", "purposes", str(bad)]) == 1
    assert f"{bad}: line 3: purpose 'nowhere' is not configured" in capsys.readouterr().err
    no_name = tmp_path / "noname.csv"
    no_name.write_text("purpose,code\nservice,x\n", encoding="utf-8")
    assert cli_main(["import", "purposes", str(no_name)]) == 2
    assert "the header has no column name" in capsys.readouterr().err
