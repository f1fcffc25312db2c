"""The reception console under a full desk: 200 employees and 20 calls ringing at once (10 at reception,
10 at employees). The daemon runs as its own process (`cti-daemon run`) against the PBX simulator and a
local mosquitto; Chromium, signed in as reception, loads the console again and again. Each load is timed
from navigation start to the moment the board holds all 200 rows with their line states and the
incoming calls panel holds every card ringing at reception (a MutationObserver, in the page's clock). The
stream's snapshot alone (connect -> snapshot parsed, read by this process) is timed beside it.

    python bench/console_load.py [--employees 200] [--calls 20] [--loads 9]

Prints medians (and min/max) of the loads; the last line is one JSON object:
{"bench":"console_load","employees":..,"calls":..,"board_ms_p50":..,"snapshot_ms_p50":..,...}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import async_playwright

from cti_daemon import passwords
from cti_daemon.ami.simulator.pbx import SimPbx
from cti_daemon.ami.simulator.scenarios import CallHandle, InboundCall, place_inbound
from cti_daemon.ami.simulator.server import AmiServer
from cti_daemon.crm import accounts
from cti_daemon.crm.models import Employee, EmployeePurpose
from cti_daemon.crm.seed import seed_demo
from cti_daemon.crm.store import open_store
from cti_daemon.demo.broker import LocalBroker, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ring_to_browser import CHROMIUM, SECRET, wait_healthy, write_config

LOGIN, PASSWORD = "asmirnova", "bench-Reception-100"
SEEDED_EMPLOYEES = 4  # e-100 (reception), e-201, e-202, e-203
PURPOSES = ("service", "showroom", "shop", "feedback", "other")

# Installed before the page's own scripts: the first moment the console shows the whole desk.
READY = """
window.__ready = null;
const want = JSON.parse(sessionStorage.getItem("bench.want") || "{}");
const check = () => {
  if (window.__ready !== null) return;
  const rows = document.querySelectorAll("#board-rows tr").length;
  const ringing = document.querySelectorAll('#board-rows .badge[data-status="ringing"]').length;
  const cards = document.querySelectorAll("#calls .card").length;
  if (rows >= want.rows && ringing >= want.ringing && cards >= want.cards) window.__ready = performance.now();
};
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(check).observe(document.body, { childList: true, subtree: true, attributes: true });
});
"""


async def seeded_store(tmp: Path, employees: int) -> tuple[Path, list[str], list[str]]:
    db = tmp / "cti.db"
    store = open_store(f"sqlite+aiosqlite:///{db}")
    extra = [str(300 + n) for n in range(employees - SEEDED_EMPLOYEES)]
    try:
        await store.create_schema()
        summary = await seed_demo(store)
        async with store.session() as session, session.begin():
            for n, ext in enumerate(extra):
                emp_id = f"e-{ext}"
                session.add(Employee(id=emp_id, name=f"Employee {ext}", login=f"u{ext}", extension=ext))
                session.add(EmployeePurpose(employee_id=emp_id, purpose_code=PURPOSES[n % len(PURPOSES)]))
        assert await accounts.set_password_hash(store, LOGIN, passwords.hash_password(PASSWORD))
        await accounts.set_role(store, LOGIN, "reception")
    finally:
        await store.dispose()
    return db, summary.known_numbers, extra


async def ring_all(pbx: SimPbx, numbers: list[str], extensions: list[str]) -> list[asyncio.Task[CallHandle]]:
    """Every call rings at once and keeps ringing (nobody answers within the bench)."""
    tasks = []
    for n, ext in enumerate(extensions):
        started: asyncio.Future[CallHandle] = asyncio.get_running_loop().create_future()
        call = InboundCall(numbers[n % len(numbers)], "", extension=ext, ring_s=3600.0, talk_s=None)
        tasks.append(asyncio.create_task(place_inbound(pbx, call, started=started)))
        await asyncio.wait_for(started, 10)
    return tasks


async def snapshot_ms(base: str, cookie: str) -> tuple[float, int]:
    headers = {"Cookie": f"cti_session={cookie}", "Origin": base}
    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        async with http.ws_connect(base + "/api/v1/stream", headers=headers, max_msg_size=0) as ws:
            msg = await ws.receive()
            snap = json.loads(msg.data)
            took = 1000 * (time.perf_counter() - start)
    assert snap["topic"] == "snapshot"
    return took, len(msg.data)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    board: list[float] = []
    snaps: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cti-bench-")))
        db, known, extra = await seeded_store(tmp, args.employees)
        broker = await stack.enter_async_context(LocalBroker())
        endpoints = {ext: f"Staff {ext}" for ext in ("100", "201", "202", "203", *extra)}
        pbx = SimPbx(endpoints)
        for endpoint in pbx.endpoints.values():
            endpoint.answer_after_s = None
        ami = await stack.enter_async_context(AmiServer(pbx, secret=SECRET))
        http_port = free_port()
        base = f"http://127.0.0.1:{http_port}"
        config = write_config(tmp, ami.port, broker.url, db, http_port)
        log = (tmp / "daemon.log").open("wb")
        stack.callback(log.close)
        env = {**os.environ, "CTI_AMI__SECRET": SECRET}
        daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cti_daemon", "run", "--config", str(config), stderr=log, env=env
        )
        try:
            await wait_healthy(base, daemon)
            at_reception = args.calls // 2
            targets = ["100"] * at_reception + extra[: args.calls - at_reception]
            calls = await ring_all(pbx, known, targets)
            pw = await stack.enter_async_context(async_playwright())
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = await browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
            page = await context.new_page()
            await page.goto(base + "/")
            await page.fill("#login", LOGIN)
            await page.fill("#password", PASSWORD)
            await page.click("#sign-in button[type=submit]")
            await page.wait_for_selector("body.console-page")
            want = {"rows": args.employees, "ringing": 1 + args.calls - at_reception, "cards": at_reception}
            await page.evaluate(f"sessionStorage.setItem('bench.want', {json.dumps(json.dumps(want))})")
            await context.add_init_script(READY)
            cookie = next(c["value"] for c in await context.cookies() if c["name"] == "cti_session")
            size = 0
            for _ in range(args.loads):
                await page.reload()
                await page.wait_for_function("window.__ready !== null", timeout=30_000)
                board.append(float(await page.evaluate("window.__ready")))
                took, size = await snapshot_ms(base, cookie)
                snaps.append(took)
            await browser.close()
            for task in calls:
                task.cancel()
        finally:
            daemon.terminate()
            await daemon.wait()

    p50, snap_p50 = statistics.median(board), statistics.median(snaps)
    print(
        f"console with {args.employees} employees, {args.calls} calls ringing ({at_reception} at reception)"
    )
    print(
        f"  navigation -> whole board and every card in the DOM: median {p50:.1f} ms "
        f"(min {min(board):.1f}, max {max(board):.1f}) over {len(board)} loads"
    )
    print(
        f"  stream connect -> snapshot parsed (Python):           median {snap_p50:.1f} ms "
        f"(min {min(snaps):.1f}, max {max(snaps):.1f}); snapshot {size / 1024:.1f} KB"
    )
    return {
        "bench": "console_load",
        "employees": args.employees,
        "calls": args.calls,
        "loads": len(board),
        "board_ms_p50": round(p50, 1),
        "board_ms_max": round(max(board), 1),
        "snapshot_ms_p50": round(snap_p50, 1),
        "snapshot_kb": round(size / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--loads", type=int, default=9)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
