"""What `pip install` gets: the wheel's metadata read from the build backend (cheap, offline): amqtt only
in the `demo` extra, an upper bound on every runtime dependency, an SPDX licence without deprecation
warnings; `--version`; and the demo saying what to install when it has no broker at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement

from cti_daemon import __version__

ROOT = Path(__file__).resolve().parent.parent


def _metadata(tmp_path: Path) -> tuple[dict[str, list[str]], str]:
    """The METADATA a wheel of this checkout carries, built from a copy (the backend writes egg-info)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cti_daemon", src / "cti_daemon", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    out.mkdir()
    code = f"from setuptools import build_meta as b; print(b.prepare_metadata_for_build_wheel({str(out)!r}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=src, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    dist_info = out / result.stdout.strip().splitlines()[-1]
    message = Parser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, result.stdout + result.stderr


def test_given_the_wheel_metadata_then_amqtt_is_only_in_the_demo_extra_and_runtime_deps_are_bounded(
    tmp_path: Path,
) -> None:
    fields, output = _metadata(tmp_path)
    requirements = [Requirement(text) for text in fields["Requires-Dist"]]
    runtime = [r for r in requirements if r.marker is None]
    demo = [r for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "demo"})]
    assert "amqtt" not in {r.name for r in runtime}, "a plain `pip install .` must not bring amqtt"
    assert "amqtt" in {r.name for r in demo}
    unbounded = [str(r) for r in runtime if not any(s.operator in ("<", "<=", "==") for s in r.specifier)]
    assert unbounded == [], f"no upper bound on the next major: {unbounded}"
    assert fields["License-Expression"] == ["MIT"]
    assert fields["Version"] == [__version__]
    assert "Provides-Extra" in fields and "demo" in fields["Provides-Extra"]
    assert "license" not in output.lower() or "deprecat" not in output.lower(), output


def test_given_version_then_it_prints_the_package_version_and_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cti_daemon", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cti-daemon {__version__}"


def test_given_neither_mosquitto_nor_amqtt_then_the_demo_says_what_to_install_and_exits_1() -> None:
    # The interpreter is told amqtt cannot be imported and no mosquitto binary exists.
    code = (
        "import sys; sys.modules['amqtt'] = None; sys.modules['amqtt.broker'] = None\n"
        "import cti_daemon.demo.broker as b; b.mosquitto_binary = lambda: None\n"
        "from cti_daemon.cli import main; raise SystemExit(main(['demo', '--duration', '5']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1, result.stderr
    assert "neither the mosquitto binary nor the embedded broker amqtt is installed" in result.stderr
    assert "apt install mosquitto" in result.stderr and "cti-daemon[demo]" in result.stderr
    assert "Traceback" not in result.stderr
