"""A long-lived task of the daemon that fails is logged, counted and started again; one that returns is
done; stopping never raises what a task raised."""

from __future__ import annotations

import asyncio
import json

import pytest

from cti_daemon.supervisor import Supervisor


async def test_given_a_task_that_fails_then_it_is_restarted_with_a_log_line_and_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    restarts: list[str] = []
    runs = 0
    done = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise TimeoutError("QueuePool limit of size 5 overflow 5 reached")
        done.set()
        await asyncio.Event().wait()

    supervisor = Supervisor(on_restart=restarts.append, first_delay_s=0.01)
    supervisor.start("spool-replay", flaky)
    await asyncio.wait_for(done.wait(), 5)
    assert restarts == ["spool-replay", "spool-replay"] and supervisor.running == ["spool-replay"]
    await supervisor.stop()
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    logged = [e for e in events if e["event"] == "task.restarted"]
    assert len(logged) == 2 and logged[0]["task"] == "spool-replay"
    assert logged[0]["error"].startswith("TimeoutError: QueuePool")


async def test_given_a_task_that_returns_then_it_is_not_started_again() -> None:
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    supervisor = Supervisor(first_delay_s=0.01)
    supervisor.start("systemd", once)
    await asyncio.sleep(0.1)
    assert runs == 1 and supervisor.running == []
    await supervisor.stop()


async def test_given_a_task_failing_as_the_daemon_stops_then_stop_does_not_raise() -> None:
    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("failed while cancelled") from None

    supervisor = Supervisor()
    supervisor.start("waiting-queue", stubborn)
    await asyncio.sleep(0)
    await supervisor.stop()
