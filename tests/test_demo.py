"""`cti-daemon demo` from the command line, as a new user runs it."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from cti_daemon.demo.runner import agent_command
from tests.support.ports import free_port_run


async def test_given_demo_started_then_identified_and_unknown_pops_print_within_10_seconds() -> None:
    base = free_port_run(3)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cti_daemon",
        "demo",
        "--duration",
        "11",
        "--port-base",
        str(base),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen: list[tuple[float, str]] = []
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            break
        seen.append((time.monotonic() - started, line.decode()))
    _, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    text = "".join(line for _, line in seen)
    assert f"127.0.0.1:{base}" in text and f"127.0.0.1:{base + 1}" in text
    card_at = next(t for t, line in seen if line.startswith("│ Car: "))
    unknown_at = next(t for t, line in seen if line.startswith("│ Unknown caller: "))
    assert card_at < 10 and unknown_at < 10, seen[:8]
    assert "│ Open: " in text and "RINGING at 100 (e-100)" in text
    assert "Traceback" not in stderr.decode()


def test_given_the_agent_command_the_demo_prints_then_it_works_when_pasted_into_a_shell() -> None:
    command = agent_command()
    result = subprocess.run(
        [*shlex.split(command), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert result.returncode == 0, (command, result.stderr)
    assert result.stdout.startswith("cti-daemon ")
