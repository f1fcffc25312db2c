"""Configuration: TOML, CTI_<SECTION>__<KEY> overrides, and `check-config` naming every problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cti_daemon.config import ConfigError, load
from cti_daemon.secret import Secret

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "cti-daemon.example.toml"


def _check_config(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cti_daemon", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )


def test_given_wrong_type_unknown_key_and_missing_secret_then_one_line_each_naming_file_and_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[ami]\nport = "5038"\nhots = "pbx"\n[mqtt]\nurl = "mqtt://broker:1883"\n', encoding="utf-8"
    )
    result = _check_config(path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, result.stderr
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert any("ami.port: must be an integer, not a string" in line for line in lines)
    assert any("ami.hots: unknown key" in line for line in lines)
    assert any("ami.secret: missing" in line for line in lines)


def test_given_the_example_config_with_a_secret_from_the_environment_then_it_is_valid() -> None:
    result = _check_config(EXAMPLE, {"CTI_AMI__SECRET": "from-env-secret"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert "from-env-secret" not in result.stdout + result.stderr


def test_given_an_environment_override_then_it_wins_over_the_file_and_is_typed(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[ami]\nport = 5038\nsecret = "file"\n[routing]\nreception_extensions = ["100"]\n', encoding="utf-8"
    )
    cfg = load(
        path,
        env={
            "CTI_AMI__PORT": "15038",
            "CTI_AMI__SECRET": "env",
            "CTI_ROUTING__RECEPTION_EXTENSIONS": "100, 101",
            "CTI_TEST_POSTGRES_URL": "x",
        },
    )
    assert cfg.ami.port == 15038
    assert cfg.ami.secret == Secret("env")
    assert cfg.routing.reception_extensions == ["100", "101"]


def test_given_a_bad_environment_value_then_the_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(None, env={"CTI_AMI__SECRET": "x", "CTI_AMI__PORT": "five", "CTI_MQTT__NOPE": "1"})
    text = [str(p) for p in err.value.problems]
    assert "environment: CTI_AMI__PORT: must be an integer, not a string" in text
    assert "environment: CTI_MQTT__NOPE: unknown key" in text


def test_given_broken_toml_then_the_file_and_the_parse_error_are_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[ami\nport = 1\n", encoding="utf-8")
    result = _check_config(path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}: -: not valid TOML")


def test_given_values_out_of_range_then_each_is_reported() -> None:
    env = {
        "CTI_AMI__SECRET": "x",
        "CTI_AMI__PORT": "70000",
        "CTI_MQTT__URL": "http://broker",
        "CTI_PHONE__DEFAULT_REGION": "Russia",
        "CTI_DATABASE__URL": "mysql://x",
        "CTI_HTTP__LISTEN": "8080",
        "CTI_DATABASE__LOOKUP_TIMEOUT_S": "0",
    }
    with pytest.raises(ConfigError) as err:
        load(None, env=env)
    keys = sorted(p.key for p in err.value.problems)
    assert keys == [
        "ami.port",
        "database.lookup_timeout_s",
        "database.url",
        "http.listen",
        "mqtt.url",
        "phone.default_region",
    ]


def test_a_secret_never_prints_itself() -> None:
    secret = Secret("hunter2-very-secret")
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "hunter2-very-secret"


@pytest.mark.parametrize("seconds", ["0", "-1", "121"])
def test_given_a_transfer_confirmation_time_out_of_range_then_the_key_is_named(seconds: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(None, env={"CTI_AMI__SECRET": "x", "CTI_ROUTING__TRANSFER_CONFIRM_S": seconds})
    assert [p.key for p in err.value.problems] == ["routing.transfer_confirm_s"]
    assert (
        load(
            None, env={"CTI_AMI__SECRET": "x", "CTI_ROUTING__TRANSFER_CONFIRM_S": "2.5"}
        ).routing.transfer_confirm_s
        == 2.5
    )


def test_given_a_port_in_superscript_digits_then_http_listen_is_named_not_a_crash() -> None:
    with pytest.raises(ConfigError) as err:
        load(None, env={"CTI_AMI__SECRET": "x", "CTI_HTTP__LISTEN": "127.0.0.1:⁸⁰⁸⁰"})
    assert [p.key for p in err.value.problems] == ["http.listen"]
