"""Store paths that cannot split: a relative SQLite URL is refused, and each command says which store
file (absolute) it works on, so `db upgrade`, `import` and `run` are seen to use the same one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cti_daemon.config import ConfigError, load
from cti_daemon.secret import Secret
from cti_daemon.store_url import store_location

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    clean.update(env or {})
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "cti_daemon", *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_given_a_relative_sqlite_url_then_check_config_and_run_exit_2_naming_database_url(
    tmp_path: Path, command: str
) -> None:
    config = tmp_path / "cti.toml"
    config.write_text(
        '[ami]\nsecret = "x"\n[database]\nurl = "sqlite+aiosqlite:///var/lib/cti-daemon/cti.db"\n',
        encoding="utf-8",
    )
    result = _cli(command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{config}: database.url: the SQLite path 'var/lib/cti-daemon/cti.db' is relative" in result.stderr
    assert "four slashes" in result.stderr
    assert not (tmp_path / "var").exists(), "nothing may be created under the shell's directory"


def test_given_absolute_memory_and_postgres_urls_then_they_are_accepted() -> None:
    for url in (
        "sqlite+aiosqlite:////var/lib/cti-daemon/cti.db",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "postgresql+asyncpg://cti:pw@db.example/cti",
    ):
        load(None, {"CTI_DATABASE__URL": url}, require_secret=False)
    with pytest.raises(ConfigError, match=r"database\.url"):
        load(None, {"CTI_DATABASE__URL": "sqlite+aiosqlite:///cti.db"}, require_secret=False)


def test_given_the_example_the_contract_and_the_defaults_then_the_sqlite_path_is_absolute() -> None:
    example = tomllib.loads((ROOT / "config" / "cti-daemon.example.toml").read_text(encoding="utf-8"))
    assert example["database"]["url"] == "sqlite+aiosqlite:////var/lib/cti-daemon/cti.db"
    assert "sqlite+aiosqlite:////var/lib/cti-daemon/cti.db" in (ROOT / "docs" / "CONTRACT.md").read_text()
    assert load(None, {}, require_secret=False).database.url.startswith("sqlite+aiosqlite:////")
    cfg = load(ROOT / "config" / "cti-daemon.example.toml", {"CTI_AMI__SECRET": "x"})
    assert cfg.ami.secret == Secret("x")


def test_given_a_postgres_url_then_its_location_names_host_and_database_never_the_password() -> None:
    assert store_location("postgresql+asyncpg://cti:hunter2@db.example:5433/cti") == (
        "PostgreSQL db.example:5433/cti"
    )
    assert store_location("sqlite+aiosqlite:////srv/x/../cti.db") == "/srv/cti.db"


def test_given_db_upgrade_and_import_then_each_names_the_absolute_store_file(tmp_path: Path) -> None:
    db = tmp_path / "store" / "cti.db"
    env = {"CTI_DATABASE__URL": f"sqlite+aiosqlite:///{db}", "CTI_LOGGING__FORMAT": "json"}
    upgrade = _cli("db", "upgrade", cwd=tmp_path, env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"db upgrade: {db}: migrated from an empty database" in upgrade.stdout
    logged = [json.loads(line) for line in upgrade.stderr.splitlines() if line.startswith("{")]
    assert {"event": "store.location", "command": "db upgrade", "store": str(db)}.items() <= next(
        e for e in logged if e["event"] == "store.location"
    ).items()
    employees = tmp_path / "employees.csv"
    employees.write_text("id,name,login,extension,devices,purposes\ne-1,Anna,anna,201,,service\n")
    imported = _cli("import", "employees", str(employees), cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stderr
    assert f"import: store {db}" in imported.stderr
