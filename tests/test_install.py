"""The administrator's path: scripts/install.sh into a scratch root (DESTDIR), then check-config, db
upgrade, import and run from the installed program and configuration, against the simulator and a real
broker, until an imported customer pops; then uninstall, which keeps the configuration and the data.

Kept fast and offline: the wheel is built from this checkout by the test's own setuptools, and the
installed venv sees the test venv's packages through a .pth file (made before the script runs, which
reuses an existing venv), so the script's pip installs only the wheel (`--no-index --no-deps`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import site
import stat
import subprocess
import sys
from pathlib import Path

from cti_daemon.ami.simulator.scenarios import InboundCall, place_inbound
from cti_daemon.demo.broker import LocalBroker, free_port
from tests.conftest import AMI_SECRET, Sim
from tests.support.mqtt import Subscriber

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install.sh"


def _wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cti_daemon", src / "cti_daemon", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "wheels"
    code = f"from setuptools import build_meta as b; print(b.build_wheel({str(out)!r}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=src, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out / result.stdout.strip().splitlines()[-1]


def _env(**extra: str) -> dict[str, str]:
    # No PYTHONPATH: the installed program must import its own copy, not this checkout.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTI_") and k != "PYTHONPATH"}
    env.update(extra)
    return env


def _install(dest: Path, wheel: Path, action: str = "install") -> subprocess.CompletedProcess[str]:
    env = _env(
        DESTDIR=str(dest),
        PYTHON=sys.executable,
        CTI_PACKAGE=str(wheel),
        CTI_PIP_ARGS="--no-index --no-deps",
    )
    return subprocess.run(
        [str(SCRIPT), action], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def _prepare_venv(dest: Path) -> None:
    venv = dest / "opt" / "cti-daemon"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    pth = venv / "lib" / version / "site-packages" / "test-venv.pth"
    pth.write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_given_a_scratch_root_install_then_the_installed_daemon_pops_an_imported_customer(
    tmp_path: Path, sim: Sim, broker: LocalBroker
) -> None:
    dest = tmp_path / "root"
    wheel = _wheel(tmp_path)
    _prepare_venv(dest)
    first = _install(dest, wheel)
    assert first.returncode == 0, first.stdout + first.stderr
    etc, state = dest / "etc" / "cti-daemon", dest / "var" / "lib" / "cti-daemon"
    token_text = (etc / "tokens").read_text()
    again = _install(dest, wheel)  # idempotent: nothing the administrator wrote is replaced
    assert again.returncode == 0, again.stdout + again.stderr
    assert "cti-daemon.toml exists; left as it is" in again.stdout
    assert (etc / "tokens").read_text() == token_text and "\nadmin:" in token_text
    assert _mode(etc) == 0o750 and _mode(state) == 0o750
    assert _mode(etc / "tokens") == 0o640 and _mode(etc / "env") == 0o640
    assert _mode(etc / "cti-daemon.toml") == 0o640
    unit = (dest / "etc" / "systemd" / "system" / "cti-daemon.service").read_text()
    assert "ExecStart=/opt/cti-daemon/bin/cti-daemon run --config /etc/cti-daemon/cti-daemon.toml" in unit
    program = dest / "opt" / "cti-daemon" / "bin" / "cti-daemon"
    assert os.readlink(dest / "usr" / "local" / "bin" / "cti-daemon") == "/opt/cti-daemon/bin/cti-daemon"

    config = etc / "cti-daemon.toml"
    store_file = state / "cti.db"
    # The installed configuration as it is, its paths moved under the scratch root.
    env = _env(
        CTI_AMI__SECRET=AMI_SECRET,
        CTI_AMI__PORT=str(sim.port),
        CTI_MQTT__URL=broker.url,
        CTI_MQTT__NODE_ID="installed",
        CTI_DATABASE__URL=f"sqlite+aiosqlite:///{store_file}",
        CTI_HTTP__TOKENS_FILE=str(etc / "tokens"),
        CTI_HTTP__LISTEN=f"127.0.0.1:{free_port()}",
        CTI_ROUTING__SPOOL_FILE=str(state / "journal-spool.jsonl"),
        CTI_LOGGING__FORMAT="json",
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(program), *args, "--config", str(config)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    checked = cli("check-config")
    assert checked.returncode == 0, checked.stderr
    upgraded = cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"db upgrade: {store_file}: migrated" in upgraded.stdout
    employees = tmp_path / "employees.csv"
    employees.write_text("id,name,login,extension,devices,purposes\ne-100,Reception,rec,100,,\n")
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,name,phones\nc-7,Olga Installed,+79161112233\n")
    for kind, path in (("employees", employees), ("customers", customers)):
        imported = cli("import", kind, str(path))
        assert imported.returncode == 0, imported.stderr
        assert f"import: store {store_file}" in imported.stderr

    daemon = await asyncio.create_subprocess_exec(
        str(program),
        "run",
        "--config",
        str(config),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    events: list[dict[str, object]] = []
    try:
        assert daemon.stderr is not None
        while not any(e.get("event") == "daemon.ready" for e in events):
            line = await asyncio.wait_for(daemon.stderr.readline(), 30)
            assert line, f"run ended before it was ready: {events[-5:]}"
            if line.startswith(b"{"):
                events.append(json.loads(line))
        assert {"event": "store.location", "store": str(store_file)}.items() <= next(
            e for e in events if e.get("event") == "store.location"
        ).items()
        async with Subscriber(broker.url, "cti/agents/e-100/popup") as agent:
            started = asyncio.get_running_loop().create_future()
            call = asyncio.create_task(
                place_inbound(sim.pbx, InboundCall("89161112233", ring_s=1.0, talk_s=0.1), started=started)
            )
            pop = await agent.wait_for("cti/agents/e-100/popup", type="popup")
            assert pop.payload["identified"] is True
            assert pop.payload["customer"]["id"] == "c-7"
            assert pop.payload["customer"]["name"] == "Olga Installed"
            await call
    finally:
        daemon.send_signal(signal.SIGTERM)
        await asyncio.wait_for(daemon.communicate(), 30)
    assert daemon.returncode == 0

    removed = _install(dest, wheel, "uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (dest / "opt" / "cti-daemon").exists()
    assert not (dest / "etc" / "systemd" / "system" / "cti-daemon.service").exists()
    assert not (dest / "usr" / "local" / "bin" / "cti-daemon").is_symlink()
    assert config.exists() and (etc / "tokens").read_text() == token_text and store_file.exists()
