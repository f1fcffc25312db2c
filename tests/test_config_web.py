"""The browser's configuration: [sessions] times and sign-in limits, [http] TLS files and trusted proxies,
each problem named by `cti-daemon check-config`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cti_daemon.config import ConfigError, load


def test_given_the_defaults_then_sessions_end_idle_after_2_h_and_at_most_after_12_h() -> None:
    config = load(None, env={"CTI_AMI__SECRET": "x"})
    assert (config.sessions.idle_s, config.sessions.max_s) == (7200.0, 43200.0)
    assert (config.sessions.signin_limit_per_login, config.sessions.signin_limit_per_address) == (5, 20)
    assert config.http.trusted_proxies == [] and config.http.tls_cert is None


def test_given_bad_session_and_https_settings_then_check_config_names_each_key(tmp_path: Path) -> None:
    path = tmp_path / "cti.toml"
    path.write_text(
        '[ami]\nsecret = "x"\n'
        f'[http]\ntls_cert = "{tmp_path / "missing.pem"}"\ntrusted_proxies = ["10.0.0.0/8", "proxy.lan"]\n'
        "[sessions]\nidle_s = 600\nmax_s = 60\nsignin_limit_per_login = 0\nsignin_window_s = -1\n",
        encoding="utf-8",
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CTI_")}
    result = subprocess.run(
        [sys.executable, "-m", "cti_daemon", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    keys = [line.split(": ")[1] for line in result.stderr.splitlines()]
    assert keys == [
        "http.tls_cert",  # without tls_key
        "http.tls_cert",  # and the file is not there
        "http.trusted_proxies",
        "sessions.max_s",
        "sessions.signin_window_s",
        "sessions.signin_limit_per_login",
    ]
    assert "'proxy.lan' is not an IP address" in result.stderr


@pytest.mark.parametrize("value", ["0", "-5"])
def test_given_a_non_positive_idle_time_then_sessions_idle_s_is_named(value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(None, env={"CTI_AMI__SECRET": "x", "CTI_SESSIONS__IDLE_S": value})
    assert "sessions.idle_s" in [p.key for p in err.value.problems]
