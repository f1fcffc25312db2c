"""Values that parse as their type but would break `run`: `check-config` names each one with exit 2, and
`run` refuses the same file the same way before starting anything (no traceback, no connection)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE = '[ami]\nsecret = "s3cret-for-config-checks"\n'


def _cli(command: str, path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cti_daemon", command, "--config", str(path)],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )


CASES = [
    ("mqtt.url", '[mqtt]\nurl = "mqtt://broker:99999"\n'),
    ("mqtt.url", '[mqtt]\nurl = "mqtt://broker:abc"\n'),
    ("mqtt.url", '[mqtt]\nurl = "mqtt://[::1"\n'),
    ("mqtt.url", '[mqtt]\nurl = "abc"\n'),
    ("mqtt.keepalive_s", "[mqtt]\nkeepalive_s = -1\n"),
    ("ami.username", '[ami]\nusername = "cti\\r\\nAction: Logoff"\n'),
    ("ami.event_filter", '[ami]\nevent_filter = ["VarSet\\r\\nAction: Logoff"]\n'),
    ("ami.connect_timeout_s", "[ami]\nconnect_timeout_s = 0\n"),
    ("ami.connect_timeout_s", "[ami]\nconnect_timeout_s = -2.5\n"),
    ("ami.host", '[ami]\nhost = ""\n'),
    ("http.listen", '[http]\nlisten = "no-such-host.invalid:8080"\n'),
    ("http.header_timeout_s", "[http]\nheader_timeout_s = 0\n"),
    ("-", "nested = " + "[" * 5000 + "]" * 5000 + "\n"),
]


def _write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "cti.toml"
    # Sections may repeat in the cases: merge [ami] lines into the base's table.
    text = BASE + extra.replace("[ami]\n", "") if extra.startswith("[ami]") else BASE + extra
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("key", "extra"), CASES, ids=[f"{k}:{e[:40]!r}" for k, e in CASES])
def test_given_a_value_that_would_break_run_then_check_config_names_it_and_run_refuses_it_alike(
    tmp_path: Path, key: str, extra: str
) -> None:
    path = _write(tmp_path, extra)
    checked = _cli("check-config", path)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert f"{path}: {key}: " in checked.stderr and "Traceback" not in checked.stderr
    ran = _cli("run", path)
    assert (ran.returncode, ran.stderr) == (2, checked.stderr)


def test_given_a_spool_file_that_is_a_directory_then_named(tmp_path: Path) -> None:
    path = _write(tmp_path, f'[routing]\nspool_file = "{tmp_path}"\n')
    checked = _cli("check-config", path)
    assert checked.returncode == 2 and "routing.spool_file: is a directory" in checked.stderr
    ran = _cli("run", path)
    assert (ran.returncode, ran.stderr) == (2, checked.stderr)


def test_given_an_ami_secret_with_a_line_break_then_named_without_showing_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    checked = _cli("check-config", path, {"CTI_AMI__SECRET": "hunter2\r\nAction: Logoff"})
    assert checked.returncode == 2 and "ami.secret: must be on one line" in checked.stderr
    assert "hunter2" not in checked.stderr


def test_given_a_password_in_a_bad_mqtt_url_then_it_is_not_shown(tmp_path: Path) -> None:
    path = _write(tmp_path, '[mqtt]\nurl = "mqtt://cti:topsecret@broker:99999"\n')
    checked = _cli("check-config", path)
    assert checked.returncode == 2 and "mqtt.url" in checked.stderr and "topsecret" not in checked.stderr


def test_given_a_listen_address_that_resolves_then_the_example_values_stay_valid(tmp_path: Path) -> None:
    path = _write(tmp_path, '[http]\nlisten = "localhost:0"\n[mqtt]\nurl = "mqtt://[::1]:1883"\n')
    checked = _cli("check-config", path)
    assert checked.returncode == 0, checked.stderr
