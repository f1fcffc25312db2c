"""systemd readiness and watchdog: READY=1 once AMI, MQTT and the store are up, then WATCHDOG=1 while the
event loop turns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cti_daemon import logs
from cti_daemon.systemd import Notifier

log = logs.get("cti.app")


async def tell_systemd(
    notifier: Notifier,
    *,
    links: Callable[[], list[tuple[str, bool]]],
    store_up: Callable[[], Awaitable[bool]],
    ready: asyncio.Event,
    node_id: str,
) -> None:
    """Run under the supervisor: restarted after a failure, it says READY again only when it is true,
    and the watchdog pings go on."""
    waiting_for = ""
    while not ready.is_set():
        missing = [name for name, up in links() if not up]
        if not missing and await store_up():
            notifier.ready("AMI, MQTT and database up")
            ready.set()
            log.info("daemon.ready", node_id=node_id)
            break
        now_waiting = ", ".join(missing) or "database"
        if now_waiting != waiting_for:
            waiting_for = now_waiting
            notifier.status(f"waiting for {now_waiting}")
            log.info("daemon.waiting", waiting_for=now_waiting)
        await asyncio.sleep(0.1)
    interval = notifier.watchdog_interval_s
    if interval is None:
        return
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)
