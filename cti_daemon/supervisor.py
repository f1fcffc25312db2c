"""Keeps the daemon's long-lived tasks running: one that fails is logged, counted and started again.

Before, an exception nobody expected (a pool time-out from SQLAlchemy, measured) ended the spool replay
until a restart (4,385 contacts waited with the store back), or the systemd readiness and watchdog task,
and then made SIGTERM exit 1 with a traceback. A task that returns has finished its work and stays done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from cti_daemon import logs

log = logs.get("cti.supervisor")

Work = Callable[[], Awaitable[None]]


class Supervisor:
    def __init__(
        self,
        *,
        on_restart: Callable[[str], None] = lambda _name: None,
        first_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
    ) -> None:
        """`on_restart(name)`: told of each restart (the daemon counts them in a metric)."""
        self._on_restart = on_restart
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, work: Work) -> None:
        self._tasks[name] = asyncio.get_running_loop().create_task(self._keep(name, work), name=name)

    @property
    def running(self) -> list[str]:
        return [name for name, task in self._tasks.items() if not task.done()]

    async def stop(self) -> None:
        """Cancel every task and wait for it; nothing they raise escapes (the daemon is stopping)."""
        for task in self._tasks.values():
            task.cancel()
        for name, task in self._tasks.items():
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await task
                except Exception as exc:  # noqa: BLE001 - stopping: say it, never exit with a traceback
                    log.warning("task.failed_on_stop", task=name, error=_describe(exc))
        self._tasks.clear()

    async def _keep(self, name: str, work: Work) -> None:
        loop = asyncio.get_running_loop()
        delay = self._first_delay_s
        while True:
            started = loop.time()
            try:
                await work()
                return
            except Exception as exc:  # the point: whatever it was, the task runs again
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # it failed while being stopped: no restart (stop() says so)
                if loop.time() - started > 60:
                    delay = self._first_delay_s  # it ran a good while: a new fault, not the same again
                log.error(  # noqa: TRY400 - a traceback may carry statement parameters: the reason only
                    "task.restarted", task=name, error=_describe(exc), restart_in_s=delay
                )
                self._on_restart(name)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_delay_s)


def _describe(exc: BaseException) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
